"""``python -m bench.worker TASK`` with a JSON spec on stdin: one measured client in a fresh process, which prints
a JSON answer. The baselines are bare httpx (they import nothing of the rotator); ``inventory-inprocess`` is the
product's own ``Rotator(build_services(...)).check()``, timed without the process's start-up.

Tasks:

- ``inventory-sequential``: every org's three listings, one request after another on one connection.
- ``inventory-ideal-async``: all of them in flight at once (httpx.AsyncClient per org, asyncio.gather).
- ``inventory-ideal-threads``: the same with a thread per request (an httpx.Client per org).
- ``inventory-inprocess``: the rotator's inventory, in process.
- ``rotation-sequential``: a naive rotation of every managed key, one request after another, making the
  LangSmith requests the rotator makes and writing the new key to Vault (KV v2, check-and-set); it waits out
  any 429 as its Retry-After says.
"""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

INVENTORY_PATHS = ("/orgs/current/service-keys", "/orgs/current/personal-access-tokens", "/orgs/current/roles")
"""What the rotator lists for each org whose id is configured."""


def _headers(org: dict[str, str]) -> dict[str, str]:
    return {"X-API-Key": org["secret"], "X-Organization-Id": org["org_id"]}


def inventory_requests(spec: dict[str, Any]) -> list[tuple[int, str, dict[str, str]]]:
    """(org index, URL, headers) of every listing of the inventory."""
    return [
        (index, spec["api_url"] + path, _headers(org))
        for index, org in enumerate(spec["orgs"])
        for path in INVENTORY_PATHS
    ]


def _tally(bodies: list[tuple[int, object]], started: float, cpu: float) -> dict[str, Any]:
    failed = sum(1 for status, _ in bodies if status != 200)
    keys = sum(len(body) for status, body in bodies if status == 200 and isinstance(body, list))
    return {
        "seconds": time.perf_counter() - started,
        "cpu_seconds": time.process_time() - cpu,
        "requests": len(bodies),
        "failed": failed,
        "listed": keys,
    }


# One TLS context for every client (as the rotator shares one): building one per client costs ~20 ms of CPU.
_TLS = ssl.create_default_context()


def inventory_sequential(spec: dict[str, Any]) -> dict[str, Any]:
    requests = inventory_requests(spec)
    with httpx.Client(timeout=60, verify=_TLS) as client:
        started, cpu = time.perf_counter(), time.process_time()
        bodies = []
        for _, url, headers in requests:
            response = client.get(url, headers=headers)
            bodies.append((response.status_code, response.json()))
        return _tally(bodies, started, cpu)


def inventory_ideal_async(spec: dict[str, Any]) -> dict[str, Any]:
    """Every request in flight at once on one event loop. A client per org: one client's pool is searched for
    each request, and with hundreds of connections in one pool that search costs more than the requests."""
    requests = inventory_requests(spec)

    async def main() -> dict[str, Any]:
        clients = [httpx.AsyncClient(timeout=60, verify=_TLS) for _ in spec["orgs"]]
        try:

            async def one(index: int, url: str, headers: dict[str, str]) -> tuple[int, object]:
                response = await clients[index].get(url, headers=headers)
                return response.status_code, response.json()

            started, cpu = time.perf_counter(), time.process_time()
            bodies = list(await asyncio.gather(*(one(*request) for request in requests)))
            return _tally(bodies, started, cpu)
        finally:
            for client in clients:
                await client.aclose()

    return asyncio.run(main())


def inventory_ideal_threads(spec: dict[str, Any]) -> dict[str, Any]:
    """A thread per request, started and joined inside the timing; a client per org, made before it."""
    requests = inventory_requests(spec)
    bodies: list[tuple[int, object]] = [(0, None)] * len(requests)
    clients = [httpx.Client(timeout=60, verify=_TLS) for _ in spec["orgs"]]

    def one(slot: int, index: int, url: str, headers: dict[str, str]) -> None:
        response = clients[index].get(url, headers=headers)
        bodies[slot] = (response.status_code, response.json())

    try:
        started, cpu = time.perf_counter(), time.process_time()
        threads = [threading.Thread(target=one, args=(slot, *request)) for slot, request in enumerate(requests)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return _tally(bodies, started, cpu)
    finally:
        for client in clients:
            client.close()


def inventory_inprocess(spec: dict[str, Any]) -> dict[str, Any]:
    started = time.perf_counter()
    from rotator.bootstrap import build_services
    from rotator.config import load_settings
    from rotator.cycle import Rotator
    from rotator.observability import configure_logging

    imported = time.perf_counter()
    configure_logging("json", "warning", stream=sys.stderr)
    runtime = Rotator(build_services(load_settings(spec["config"], spec["environ"]), spec["environ"]))
    built = time.perf_counter()
    report = runtime.check()
    checked = time.perf_counter()
    runtime.close()
    return {
        "seconds": checked - built,
        "import_seconds": imported - started,
        "build_seconds": built - imported,
        "rows": len(report.rows),
        "failed_orgs": [inventory.org for inventory in report.failed_orgs],
    }


class _Naive:
    """One request after another; a 429 is waited out as its Retry-After says, and counted."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client
        self.requests = 0
        self.refused = 0
        self.failed = 0

    def send(self, method: str, url: str, headers: dict[str, str], body: object = None) -> httpx.Response:
        while True:
            self.requests += 1
            response = self.client.request(method, url, headers=headers, json=body)
            if response.status_code != 429:
                if response.is_error:
                    self.failed += 1
                return response
            self.refused += 1
            time.sleep(float(response.headers.get("Retry-After", "1")))


def rotation_sequential(spec: dict[str, Any]) -> dict[str, Any]:
    api, vault = spec["api_url"], spec["vault_address"]
    orgs: list[dict[str, str]] = spec["orgs"]
    vault_headers = {"X-Vault-Token": spec["vault_token"]}
    vault_requests = 0
    rotated = 0
    started, cpu = time.perf_counter(), time.process_time()
    with httpx.Client(timeout=60, verify=_TLS) as client:
        naive = _Naive(client)

        def vault_call(method: str, path: str, body: object = None) -> httpx.Response:
            nonlocal vault_requests
            vault_requests += 1
            return client.request(method, f"{vault}/v1/{path}", headers=vault_headers, json=body)

        def inventory() -> None:
            for org in orgs:
                for path in INVENTORY_PATHS:
                    naive.send("GET", api + path, _headers(org))

        inventory()
        for key in spec["keys"]:
            org = orgs[key["org"]]
            admin = _headers(org)
            keys_url = api + "/orgs/current/service-keys"
            listing = naive.send("GET", keys_url, admin).json()
            current = next(item for item in listing if item["id"] == key["key_id"])
            naive.send("GET", api + "/workspaces", admin)
            naive.send("GET", api + "/orgs/current/info", admin)
            expires = datetime.now(UTC) + timedelta(days=90)
            created = naive.send(
                "POST",
                keys_url,
                admin,
                {"description": current["description"], "expires_at": expires.isoformat(), "workspaces": None},
            ).json()
            naive.send("GET", api + "/orgs/current/info", {**admin, "X-API-Key": created["key"]})
            naive.send("GET", keys_url, admin)
            data = {"api_key": created["key"], "key_id": created["id"]}
            read = vault_call("GET", f"secret/data/{key['path']}").json()
            version = read["data"]["metadata"]["version"]
            vault_call("POST", f"secret/data/{key['path']}", {"data": data, "options": {"cas": version}})
            vault_call("GET", f"secret/data/{key['path']}")
            vault_call(
                "POST", f"secret/metadata/{key['path']}", {"custom_metadata": {"previous_key_id": key["key_id"]}}
            )
            naive.send("GET", keys_url, admin)
            naive.send("DELETE", f"{keys_url}/{key['key_id']}", admin)
            rotated += 1
        inventory()
    return {
        "seconds": time.perf_counter() - started,
        "cpu_seconds": time.process_time() - cpu,
        "requests": naive.requests,
        "refused": naive.refused,
        "failed": naive.failed,
        "vault_requests": vault_requests,
        "rotated": rotated,
    }


TASKS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "inventory-sequential": inventory_sequential,
    "inventory-ideal-async": inventory_ideal_async,
    "inventory-ideal-threads": inventory_ideal_threads,
    "inventory-inprocess": inventory_inprocess,
    "rotation-sequential": rotation_sequential,
}


def main(argv: list[str]) -> int:
    product = os.environ.get("BENCH_PRODUCT_PATH")
    if product:  # the rotator to measure, ahead of the one installed
        sys.path.insert(0, product)
    if len(argv) != 1 or argv[0] not in TASKS:
        print(f"usage: python -m bench.worker {{{','.join(TASKS)}}} < spec.json", file=sys.stderr)
        return 2
    print(json.dumps(TASKS[argv[0]](json.load(sys.stdin))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
