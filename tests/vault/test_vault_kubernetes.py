"""Kubernetes auth end to end: OpenBao's kubernetes auth asks a fake TokenReview API on loopback."""

from __future__ import annotations

import base64
import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from langsmith_sandbox.openbao import OpenBaoDevServer
from rotator.vault.auth import KubernetesAuth
from rotator.vault.errors import VaultAuthError
from rotator.vault.kv import KvStore
from rotator.vault.session import VaultSession
from tests.support.logs import LogList
from tests.support.openbao import grant
from tests.support.secrets_scan import assert_no_secrets

pytestmark = pytest.mark.integration

# A throwaway self-signed certificate (its key was discarded): the auth method insists on a CA even for http.
FAKE_KUBERNETES_CA = """-----BEGIN CERTIFICATE-----
MIIBkTCCATegAwIBAgIUSmIBKJNe+xOSoeo7ZhFdGEPxLKswCgYIKoZIzj0EAwIw
HTEbMBkGA1UEAwwSZmFrZS1rdWJlcm5ldGVzLWNhMCAXDTI2MTEyNjIzNTIzMFoY
DzIxMjYxMTAyMjM1MjMwWjAdMRswGQYDVQQDDBJmYWtlLWt1YmVybmV0ZXMtY2Ew
WTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAARW3wKrL5P0GeZqeWyDb5nuM1rGqDGo
OcRkYCvPGrVTNqLukUOUWpxUBvcgCXuSdUBaanps0gzP25OOFIQXr/VMo1MwUTAd
BgNVHQ4EFgQUwkhjfxiy/HeI/hr6xbqR1rVaSJ8wHwYDVR0jBBgwFoAUwkhjfxiy
/HeI/hr6xbqR1rVaSJ8wDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNIADBF
AiA8fabGTUk7aSQEmFCjH0ypn8QliYUXZq9bVwVN8tjaTAIhAJZ0N8jkR96VW9OA
LMxgAEfZ11eU7hltgJ6VD11wm8dx
-----END CERTIFICATE-----
"""
NAMESPACE = "rotation"
ACCOUNT = "rotator"
UID = "0b7c8a52-7d6f-4d2c-9d43-2f4c1b9e0a11"


def _b64(value: dict[str, Any] | bytes) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def service_account_jwt(name: str = ACCOUNT) -> str:
    """A legacy service-account token's shape; the fake TokenReview API vouches for it, nobody checks the signature."""
    claims = {
        "iss": "kubernetes/serviceaccount",
        "sub": f"system:serviceaccount:{NAMESPACE}:{name}",
        "kubernetes.io/serviceaccount/namespace": NAMESPACE,
        "kubernetes.io/serviceaccount/service-account.name": name,
        "kubernetes.io/serviceaccount/service-account.uid": UID,
        "kubernetes.io/serviceaccount/secret.name": f"{name}-token",
    }
    return f"{_b64({'alg': 'RS256', 'kid': 'test'})}.{_b64(claims)}.{_b64(uuid.uuid4().bytes * 4)}"


class FakeTokenReviewApi:
    """POST /apis/authentication.k8s.io/v1/tokenreviews: authenticates exactly the tokens in ``valid``."""

    def __init__(self) -> None:
        self.valid: set[str] = set()
        self.reviewed: list[str] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                token = body["spec"]["token"]
                api.reviewed.append(token)
                user = {"username": f"system:serviceaccount:{NAMESPACE}:{ACCOUNT}", "uid": UID, "groups": []}
                status = {"authenticated": True, "user": user} if token in api.valid else {"authenticated": False}
                answer = json.dumps({"kind": "TokenReview", "apiVersion": "authentication.k8s.io/v1", "status": status})
                self.send_response(201)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer.encode())

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"


@pytest.fixture
def token_review() -> Iterator[FakeTokenReviewApi]:
    api = FakeTokenReviewApi()
    thread = threading.Thread(target=api.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield api
    api.server.shutdown()
    api.server.server_close()
    thread.join(5)


@pytest.fixture
def kubernetes_mount(openbao: OpenBaoDevServer, token_review: FakeTokenReviewApi, kv_prefix: str) -> str:
    mount = f"k8s-{kv_prefix}"
    root = openbao.root_client()
    root.sys.enable_auth_method("kubernetes", path=mount)
    root.auth.kubernetes.configure(
        kubernetes_host=token_review.url,
        kubernetes_ca_cert=FAKE_KUBERNETES_CA,
        token_reviewer_jwt="reviewer-jwt",
        disable_local_ca_jwt=True,
        mount_point=mount,
    )
    grant(openbao, f"{kv_prefix}-k8s", {f"secret/data/{kv_prefix}/*": ["read", "create", "update"]})
    root.auth.kubernetes.create_role(
        "rotator",
        bound_service_account_names=[ACCOUNT],
        bound_service_account_namespaces=[NAMESPACE],
        policies=[f"{kv_prefix}-k8s"],
        ttl="10m",
        mount_point=mount,
    )
    return mount


def test_kubernetes_login_sends_the_pods_jwt_for_review_and_gets_a_working_token(
    openbao: OpenBaoDevServer,
    token_review: FakeTokenReviewApi,
    kubernetes_mount: str,
    kv_prefix: str,
    tmp_path: Path,
) -> None:
    jwt = service_account_jwt()
    token_review.valid.add(jwt)
    jwt_file = tmp_path / "token"
    jwt_file.write_text(jwt)
    session = VaultSession(
        address=openbao.address, auth=KubernetesAuth("rotator", jwt_file=jwt_file, mount=kubernetes_mount)
    )

    version = KvStore(session).write(f"{kv_prefix}/app", {"v": "one"}, cas=0)

    assert version == 1
    assert token_review.reviewed == [jwt]
    expires_in = session.token_expires_in()
    assert expires_in is not None
    assert 590 <= expires_in <= 600


def test_a_jwt_the_cluster_rejects_is_an_auth_error_without_the_jwt(
    openbao: OpenBaoDevServer,
    token_review: FakeTokenReviewApi,
    kubernetes_mount: str,
    tmp_path: Path,
    logs: LogList,
) -> None:
    jwt = service_account_jwt()
    jwt_file = tmp_path / "token"
    jwt_file.write_text(jwt)
    session = VaultSession(
        address=openbao.address, auth=KubernetesAuth("rotator", jwt_file=jwt_file, mount=kubernetes_mount)
    )

    with pytest.raises(VaultAuthError) as caught:
        session.client()

    assert str(caught.value).startswith(f"Vault login failed (kubernetes role 'rotator' at auth/{kubernetes_mount})")
    assert token_review.reviewed == [jwt]
    assert_no_secrets(str(caught.value) + repr(caught.value) + repr(logs), known=[jwt])
