"""The consumer snippets in docs/consumers.md are well-formed manifests: each YAML block parses, and each
resource names the API and kind its operator documents, with the refresh interval the text explains."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

DOC = Path(__file__).parent.parent / "docs" / "consumers.md"


def blocks() -> list[object]:
    return [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", DOC.read_text(), flags=re.DOTALL)]


def test_each_snippet_parses_and_the_operators_resources_are_what_they_document() -> None:
    parsed = blocks()
    assert len(parsed) == 3
    resources = {(doc["apiVersion"], doc["kind"]): doc for doc in parsed if isinstance(doc, dict) and "kind" in doc}
    eso = resources[("external-secrets.io/v1beta1", "ExternalSecret")]
    assert eso["spec"]["refreshInterval"] == "15m"
    assert eso["spec"]["data"][0]["remoteRef"] == {"key": "langsmith/chatbot-prod", "property": "api_key"}
    vso = resources[("secrets.hashicorp.com/v1beta1", "VaultStaticSecret")]
    assert (vso["spec"]["type"], vso["spec"]["refreshAfter"]) == ("kv-v2", "15m")
    assert vso["spec"]["rolloutRestartTargets"] == [{"kind": "Deployment", "name": "chatbot"}]
    [reloader] = [doc for doc in parsed if isinstance(doc, dict) and "kind" not in doc]
    assert reloader["metadata"]["annotations"] == {"secret.reloader.stakater.com/reload": "chatbot-langsmith"}
