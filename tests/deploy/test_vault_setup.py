"""deploy/vault/setup.sh against a real OpenBao: it writes the policies and both logins, twice without harm;
an AppRole login then holds exactly the rotator's policies; the consumer policy reads one secret and no more."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import certifi
import hvac
import hvac.exceptions
import pytest

from langsmith_sandbox.openbao import OpenBaoDevServer
from tests.support.openbao import require_bao

pytestmark = pytest.mark.integration

VAULT_DIR = Path(__file__).parent.parent.parent / "deploy" / "vault"


def run_setup(openbao: OpenBaoDevServer, **settings: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        "VAULT_ADDR": openbao.address,
        "VAULT_TOKEN": openbao.root_token,
        "VAULT": require_bao(),
        **settings,
    }
    return subprocess.run(
        [str(VAULT_DIR / "setup.sh")], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_setup_writes_the_policies_and_both_logins_and_can_run_again(openbao: OpenBaoDevServer) -> None:
    settings = {
        "K8S_HOST": "https://127.0.0.1:6443",
        "K8S_CA_CERT": certifi.where(),  # any PEM CA: Vault only checks tokens against it at login
        "K8S_NAMESPACE": "ops",
        "SELF_ROTATION": "1",
    }
    first = run_setup(openbao, **settings)
    again = run_setup(openbao, **settings)

    assert first.returncode == 0, first.stderr
    assert again.returncode == 0, again.stderr
    assert (
        again.stdout.strip() == "setup.sh: policies langsmith-rotator,langsmith-rotator-self; auth: approle, kubernetes"
    )
    root = openbao.root_client()
    assert root.sys.read_policy("langsmith-rotator")["data"]["rules"] == (VAULT_DIR / "rotator-policy.hcl").read_text()
    k8s = root.read("auth/kubernetes/role/langsmith-rotator")["data"]
    assert k8s["bound_service_account_names"] == ["langsmith-key-rotator"]
    assert k8s["bound_service_account_namespaces"] == ["ops"]
    assert sorted(k8s["token_policies"]) == ["langsmith-rotator", "langsmith-rotator-self"]

    role_id = root.read("auth/approle/role/langsmith-rotator/role-id")["data"]["role_id"]
    secret_id = root.write("auth/approle/role/langsmith-rotator/secret-id")["data"]["secret_id"]
    login = hvac.Client(url=openbao.address).auth.approle.login(role_id=role_id, secret_id=secret_id)
    assert sorted(login["auth"]["token_policies"]) == ["default", "langsmith-rotator", "langsmith-rotator-self"]


def test_without_kubernetes_or_self_rotation_setup_says_it_wrote_only_what_was_asked(openbao: OpenBaoDevServer) -> None:
    done = run_setup(openbao)

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "setup.sh: policies langsmith-rotator; auth: approle"


def test_kubernetes_auth_without_its_ca_is_refused_in_one_line(openbao: OpenBaoDevServer) -> None:
    done = run_setup(openbao, K8S_HOST="https://127.0.0.1:6443")

    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "setup.sh: K8S_CA_CERT must name a readable PEM file with the CA of https://127.0.0.1:6443"
    ]


def test_the_consumer_policy_reads_its_secret_and_nothing_else(openbao: OpenBaoDevServer) -> None:
    root = openbao.root_client()
    kv = root.secrets.kv.v2
    kv.create_or_update_secret(path="langsmith/chatbot-prod", secret={"api_key": "lsv2_sk_consumer_test"})
    kv.create_or_update_secret(path="langsmith-rotator/secrets/chatbot", secret={"phase": "idle"})
    openbao.write_policy("chatbot-langsmith", (VAULT_DIR / "consumer-policy.hcl").read_text())
    consumer = hvac.Client(url=openbao.address, token=openbao.create_token(["chatbot-langsmith"])).secrets.kv.v2

    read = consumer.read_secret_version(path="langsmith/chatbot-prod", raise_on_deleted_version=False)
    assert read["data"]["data"]["api_key"] == "lsv2_sk_consumer_test"
    with pytest.raises(hvac.exceptions.Forbidden):
        consumer.create_or_update_secret(path="langsmith/chatbot-prod", secret={"api_key": "mine"})
    with pytest.raises(hvac.exceptions.Forbidden):
        consumer.read_secret_version(path="langsmith-rotator/secrets/chatbot", raise_on_deleted_version=False)
    with pytest.raises(hvac.exceptions.Forbidden):
        consumer.read_secret_version(path="langsmith/other-team", raise_on_deleted_version=False)
