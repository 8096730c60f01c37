"""The suite-wide leak scan (tests/support/leak_scan.py) must itself be able to fail: a secret planted in each kind
of source is found, named by source, and reported by a prefix only."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from langsmith_sandbox import SandboxState
from rotator.state.layout import LAYOUT, StateLayout
from tests.support.leak_scan import LANGSMITH, SCAN, SHAPED, SINK, VAULT, Registry, collect_request, is_rotator_command
from tests.support.orgs import seed_small_org

PLANTED_SECRET = "planted-sink-secret-0123456789abcdef"
"""Harvested as a test constant (its name says SECRET) by the outer run too: were the inner run's report to
print it in full, this module's own tests would fail."""

# The inner run: each test but one plants one secret in one source (the state document's test comes last, so its
# documents are read as the session's OpenBao stops). ``planted.txt`` gets the secrets made at run time (a sandbox
# key, OpenBao's root token), so that the outer test can check that none was printed in full.
PLANTING_TESTS = f'''
import json, os, subprocess, sys
from pathlib import Path

import httpx

from langsmith_sandbox import SandboxState
from tests.support.metrics import parse_metrics
from tests.support.orgs import seed_small_org
from tests.support.receivers import Receiver

PLANTED_SECRET = "{PLANTED_SECRET}"


def fake_rotator(directory):
    """A program named ``rotator`` that prints $LEAK, as a rotator whose redaction failed would."""
    script = directory / "rotator"
    script.write_text("#!" + sys.executable + "\\nimport os\\nprint('oops', os.environ['LEAK'])\\n")
    script.chmod(0o755)
    return script


def plant(*secrets):
    with open("planted.txt", "a") as file:
        file.write("".join(secret + "\\n" for secret in secrets))


def test_cli_output(tmp_path):
    issued = seed_small_org(SandboxState()).admin
    plant(issued.secret)
    bare = issued.secret.removeprefix("lsv2_sk_")  # not secret-shaped any more: only the registry knows it
    done = subprocess.run(
        [str(fake_rotator(tmp_path)), "once"], env={{**os.environ, "LEAK": bare}}, capture_output=True, text=True
    )
    assert done.returncode == 0


def test_daemon_log_file(tmp_path):
    with (tmp_path / "daemon.log").open("wb") as log:
        subprocess.run([str(fake_rotator(tmp_path)), "run"], env={{**os.environ, "LEAK": PLANTED_SECRET}}, stdout=log)


def test_receiver_body():
    receiver = Receiver().start()
    try:
        httpx.post(receiver.url + "/hooks/x", json={{"text": "signed with " + PLANTED_SECRET}}, timeout=5)
    finally:
        receiver.stop()


def test_metrics_text():
    parse_metrics('langsmith_rotator_up{{hook="' + PLANTED_SECRET + '"}} 1\\n')


def test_managed_secret_metadata(openbao_kv, kv_prefix):
    openbao_kv.write(f"{{kv_prefix}}/apps/chatbot", {{"api_key": "x"}}, cas=0)
    openbao_kv.set_custom_metadata(f"{{kv_prefix}}/apps/chatbot", {{"rotated_by": "hook " + PLANTED_SECRET}})


def test_what_must_carry_a_secret_is_not_a_leak(openbao_kv, kv_prefix):
    issued = seed_small_org(SandboxState()).admin
    openbao_kv.write(f"{{kv_prefix}}/apps/chatbot", {{"api_key": issued.secret}}, cas=0)  # the managed secret
    receiver = Receiver().start()
    try:
        headers = {{"Authorization": "Bearer " + PLANTED_SECRET}}
        body = {{"routing_key": PLANTED_SECRET, "payload": {{"summary": "expiring"}}}}
        httpx.post(receiver.url + "/x/" + PLANTED_SECRET, json=body, headers=headers, timeout=5)
    finally:
        receiver.stop()


def test_vault_state_document(openbao, openbao_kv, kv_prefix):
    plant(openbao.root_token)
    path = f"{{kv_prefix}}/state/secrets/chatbot"
    openbao_kv.write(path, {{"last_error": "login failed with " + openbao.root_token}}, cas=0)
    openbao_kv.write(path, {{"last_error": None}}, cas=1)  # overwritten: the old version is read all the same
'''


def test_a_secret_planted_in_each_source_fails_its_test_showing_a_prefix_only(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_planted=PLANTING_TESTS)
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).parent.parent))
    plugins = ["-p", "tests.support.secrets_scan", "-p", "tests.support.leak_scan", "-p", "tests.support.openbao"]
    # --show-capture=no: the inner run must not echo what it captured into this test's own output.
    result = pytester.runpytest_subprocess(*plugins, "-p", "no:randomly", "-q", "--show-capture=no")

    result.assert_outcomes(passed=7, errors=6)  # each planted secret fails its test's teardown
    result.stdout.fnmatch_lines_random(
        [
            "*secret(s) leaked into what the rotator wrote*",
            "*cli (rotator once): known langsmith key's random part of lsv2_sk_*...",
            "*rotator-output-file (daemon.log): known sink secret plan*...",
            "*receiver-body (http://127.0.0.1:*): known sink secret plan*...",
            "*vault-state (secret/test-*/state/secrets/chatbot v1): known vault secret dev-root-*...",
            "*metrics: known sink secret plan*...",
            "*vault-metadata (secret/test-*/apps/chatbot): known sink secret plan*...",
            "leak scan: * secrets known, * texts (* bytes) scanned, 6 hits",
        ]
    )
    assert "state/secrets/chatbot v2" not in result.stdout.str(), "the clean version is no leak"
    printed = result.stdout.str() + result.stderr.str()
    planted = [PLANTED_SECRET, *(pytester.path / "planted.txt").read_text().split()]
    assert len(planted) == 3
    assert not [secret for secret in planted if secret in printed], "a report printed a secret in full"
    assert not [secret for secret in planted if secret.removeprefix("lsv2_sk_") in printed]


def test_the_registry_finds_known_secrets_of_any_shape_and_any_unknown_shaped_one() -> None:
    registry = Registry()
    key = "lsv2_sk_" + "ab" * 16 + "_" + "c" * 10
    registry.add(key, LANGSMITH)
    registry.add("dev-root-0123456789abcdef", VAULT)
    registry.add("hook-hmac-0123456789", SINK)
    registry.add("short", SINK)  # too short to tell from ordinary text: not registered

    assert registry.find(f"x {key} y") == ["known lsv2_sk_abab..."]
    assert registry.find("bare " + key.removeprefix("lsv2_sk_")) == [
        "known langsmith key's random part of lsv2_sk_abab..."
    ]
    assert registry.find("token=dev-root-0123456789abcdef") == ["known vault secret dev-root..."]
    assert registry.find("unknown lsv2_pt_" + "0" * 32 + "_" + "1" * 10) == ["lsv2_pt_0000..."]
    assert registry.find("sig hook-hmac-0123456789", exempt=[SINK]) == []
    assert registry.find(f"{key} hvs.{'A' * 30}", exempt=[SHAPED]) == ["known lsv2_sk_abab..."], "known, any shape"
    assert registry.find("short and short_key lsv2_sk_abab... and hvs.*** are fine") == []
    assert len(registry) == 3


def test_the_sandbox_and_openbao_issuers_register_what_they_issue() -> None:
    issued = seed_small_org(SandboxState()).admin
    assert SCAN.registry.find("a" + issued.secret.removeprefix("lsv2_sk_") + "b"), "a sandbox key, registered"


def test_a_real_rotator_process_is_collected() -> None:
    done = subprocess.run([sys.executable, "-m", "rotator", "--version"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert [(text.source, text.label) for text in SCAN.pending()] == [("cli", "rotator ...")], "its stdout"
    assert is_rotator_command(["setpriv", "--reuid=65534", sys.executable, "-m", "rotator", "check"])
    assert is_rotator_command(["/venv/bin/rotator", "once"])
    assert not is_rotator_command([sys.executable, "-m", "langsmith_sandbox", "serve"])


def test_a_receiver_request_is_scanned_but_for_what_the_sink_must_send() -> None:
    before = len(SCAN.pending())
    collect_request("receiver", "test", "/services/T/B/hook", {"Authorization": "Basic x", "X-Sig": "s"}, b"{}")
    sources = [text.source for text in SCAN.pending()[before:]]
    assert sources == ["receiver-path", "receiver-headers", "receiver-body"]
    headers = SCAN.pending()[before + 1]
    assert "Authorization" not in headers.text and "X-Sig" in headers.text
    assert SCAN.pending()[before].exempt == {SINK}, "a sink URL's path is its secret, by design"


@pytest.mark.parametrize(
    ("path", "state"),
    [
        ("langsmith-rotator/secrets/chatbot", True),  # the default prefix
        ("team/rotator/leases/default", True),
        ("team/rotator/alerts", True),
        ("test-0123/apps/chatbot", False),  # a managed secret: it holds the key by design
        ("e2e-0123/chatbot", False),
        ("langsmith-rotator/admin/prod", False),  # an admin key, where the shipped policy keeps it
    ],
)
def test_state_documents_are_told_from_managed_secrets(path: str, state: bool) -> None:
    assert SCAN.is_state_document(path) is state


def test_the_scan_knows_every_document_the_state_layout_has() -> None:
    """A new kind of state document must be added to the scan's copy of the layout (LAYOUT_SUFFIX)."""
    public = {name for name in dir(StateLayout) if not name.startswith("_")}
    assert public == {"alerts", "journal", "lease"}, "the state layout changed: update tests/support/leak_scan.py"
    for path in (LAYOUT.alerts, LAYOUT.journal("chatbot"), LAYOUT.lease("default")):
        assert SCAN.is_state_document(f"team/rotator/{path}"), path
