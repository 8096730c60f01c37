"""The shipped Grafana dashboard (deploy/grafana/langsmith-rotator.json), proved against a real Prometheus.

Static: Grafana's dashboard JSON shape, the ``datasource`` and ``org`` variables, and every variable a query
uses is defined. Live: a real `rotator run` daemon (sandbox LangSmith, session OpenBao) rotates one managed
secret (and, after a 5s grace, deletes its old key), fails to rotate another (one injected 400), and delivers
alerts to a webhook that first answers 400; a real Prometheus (Debian's ``prometheus``) scrapes it every second.
Then every panel query, with the variables substituted, must parse (``status: success``) and return data, and
every metric the dashboard names must be one the daemon's /metrics exposes, so a renamed metric fails here.

Without /usr/bin/prometheus the live test skips locally and fails when ``CI=true``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from langsmith_sandbox import FaultRule
from tests.support import rotator_cli
from tests.support.daemon_world import MANAGED, StartDaemon, World
from tests.support.metrics import value
from tests.support.polling import wait_for
from tests.support.prometheus_server import Prometheus, serve_prometheus
from tests.support.receivers import Receiver, Reply
from tests.support.sandbox_vault_world import CREATE_PATH, DAY

DASHBOARD = Path(__file__).parents[2] / "deploy" / "grafana" / "langsmith-rotator.json"
JOB = "langsmith-key-rotator"
FAILING = "batch"
SINK = "ops-webhook"
METRIC = re.compile(r"\blangsmith_rotator_[a-z0-9_]+")
VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)")
# Grafana's built-ins, as a 1m range would make them; the dashboard's own variables come from its templating.
BUILTINS = {"__rate_interval": "1m", "__interval": "1m", "__range": "1m", "__range_s": "60"}
PANELS = {
    "Keys by status",
    "Days to expiry per key (most urgent first)",
    "Rotations and rotation failures",
    "Time since the last rotation per managed secret",
    "Time since the last successful cycle",
    "Lease held",
    "Lease holder over time",
    "Org poll failed",
    "Cycle duration",
    "LangSmith API errors by method and status",
    "Alert deliveries per sink",
    "Undelivered notifications per sink",
}


def load() -> dict[str, Any]:
    dashboard: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return dashboard


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    """Every panel that is not a row, rows' collapsed panels included."""
    found: list[dict[str, Any]] = []
    for panel in dashboard["panels"]:
        found.extend(panel.get("panels", []) if panel["type"] == "row" else [panel])
    return found


def targets(dashboard: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(panel title, refId, expr) for every query."""
    return [(p["title"], t["refId"], t["expr"]) for p in panels(dashboard) for t in p["targets"]]


def variables(dashboard: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {variable["name"]: variable for variable in dashboard["templating"]["list"]}


def substitute(expr: str, values: dict[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        assert name in values, f"{expr!r} uses ${name}, which the dashboard does not define"
        return values[name]

    return VARIABLE.sub(one, expr)


def values_for(dashboard: dict[str, Any], org: str) -> dict[str, str]:
    """The values Grafana would substitute: ``org`` for $org, each custom variable's current value."""
    values = dict(BUILTINS)
    for name, variable in variables(dashboard).items():
        if variable["type"] == "custom":
            values[name] = str(variable["current"]["value"])
    return values | {"org": org}


# ── the JSON itself ─────────────────────────────────────────────────────────────────────────────────────


def test_the_dashboard_is_a_grafana_dashboard_on_a_prometheus_variable() -> None:
    dashboard = load()
    assert dashboard["schemaVersion"] >= 36 and dashboard["uid"] and dashboard["title"]
    assert dashboard["id"] is None, "an exported dashboard must not pin a database id"
    declared = variables(dashboard)
    assert declared["datasource"] | {"type": "datasource", "query": "prometheus"} == declared["datasource"]
    org = declared["org"]
    assert org["type"] == "query" and org["includeAll"] and org["allValue"] == ".*" and org["multi"]
    assert org["definition"] == "label_values(langsmith_rotator_org_poll_failed, org)"
    assert org["datasource"]["uid"] == "${datasource}"

    found = panels(dashboard)
    assert {p["title"] for p in found} == PANELS
    ids = [p["id"] for p in dashboard["panels"]] + [p["id"] for p in found if p not in dashboard["panels"]]
    assert len(set(ids)) == len(ids), "panel ids repeat"
    for panel in found:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        assert {"h", "w", "x", "y"} <= panel["gridPos"].keys() and panel["description"], panel["title"]
        refs = [t["refId"] for t in panel["targets"]]
        assert refs and len(set(refs)) == len(refs), panel["title"]
        assert all(t["datasource"]["uid"] == "${datasource}" for t in panel["targets"]), panel["title"]


def test_every_variable_a_query_uses_is_defined() -> None:
    dashboard = load()
    for _title, _ref, expr in targets(dashboard):
        substituted = substitute(expr, values_for(dashboard, ".*"))
        assert "$" not in substituted, substituted
    assert any("$org" in expr for _t, _r, expr in targets(dashboard)), "no panel filters by org"


# ── against a real Prometheus scraping a real daemon ────────────────────────────────────────────────────


def seed(world: World) -> dict[str, Any]:
    """Keys of every status, two due managed secrets (``FAILING`` first: the injected fault hits it), the config."""
    managed = world.managed_key()
    failing = world.service_key("batch prod", age=70 * DAY)  # 20 days left: warning, and due
    world.store_key(f"{world.prefix}/apps/{FAILING}", failing)
    world.service_key("expired export", age=40 * DAY, lifetime=30 * DAY)
    world.service_key("critical ingest", age=85 * DAY, lifetime=88 * DAY)
    world.service_key("young ci", age=5 * DAY, lifetime=None)
    world.service_key("ancient notebook", age=120 * DAY, lifetime=None)
    config = world.config(
        managed,
        grace="5s",
        alerts={"sinks": [{"type": "webhook", "name": SINK, "url": {"env": "DASHBOARD_TEST_HOOK"}}]},
    )
    config["managed"].insert(
        0,
        {
            "name": FAILING,
            "org": "acme",
            "path": f"{world.prefix}/apps/{FAILING}",
            "adopt": {"key_id": failing.id},
            "grace_period": "5s",
        },
    )
    config["concurrency"] = {"rotations": 1}  # one saga after another, so the first create is FAILING's
    return config


def series(prometheus: Prometheus, expr: str) -> list[dict[str, Any]]:
    answer = prometheus.query(expr)
    assert answer["status"] == "success", f"{expr}: {answer}"
    result: list[dict[str, Any]] = answer["data"]["result"]
    return result


def test_every_panel_query_returns_data_from_a_real_prometheus(
    world: World, start_daemon: StartDaemon, tmp_path: Path
) -> None:
    dashboard = load()
    config = rotator_cli.write_config(tmp_path, seed(world))
    # One 400 on the first create: the first managed secret (FAILING) fails its rotation, MANAGED rotates.
    world.state.faults.add(FaultRule(path=CREATE_PATH, method="POST", status=400, times=1))
    receiver = Receiver().start()
    receiver.script(Reply(status=400))  # the first delivery fails (a 4xx is not retried): sent again next cycle
    try:
        daemon = start_daemon(world, config, env={"DASHBOARD_TEST_HOOK": f"{receiver.url}/hook"})
        daemon.wait_serving()
        target = daemon.url.removeprefix("http://")
        with serve_prometheus(tmp_path, job=JOB, targets=[target], scrape_interval="1s") as prometheus:
            wait_for(lambda: prometheus.targets_up(JOB), timeout=30, what="Prometheus to scrape the daemon")
            # Cycle 1 rotates MANAGED and fails FAILING; cycle 2 (10s later, past the 5s grace) deletes the old
            # key and is a clean cycle; then a few scrapes, so that rates over 1m have samples on both sides.
            cycles = daemon.wait_cycles(2, timeout=45)
            assert cycles[0]["rotations"] == 1, cycles[0]
            completed = f'langsmith_rotator_rotations_total{{secret="{MANAGED}",result="completed"}}'
            wait_for(
                lambda: (
                    series(prometheus, completed)
                    and series(prometheus, "langsmith_rotator_last_successful_cycle_timestamp_seconds")
                ),
                timeout=30,
                what="Prometheus to have scraped the deletion and a clean cycle",
            )
            wait_for(
                lambda: series(prometheus, "increase(langsmith_rotator_cycle_duration_seconds_count[1m]) > 0"),
                timeout=30,
                what="a cycle between two scrapes",
            )
            _, samples = daemon.scrape()
            assert value(samples, "langsmith_rotator_rotations_total", secret=MANAGED, result="rotated") == 1
            assert value(samples, "langsmith_rotator_rotations_total", secret=FAILING, result="failed") == 1
            assert value(samples, "langsmith_rotator_alert_deliveries_total", sink=SINK, result="failed") >= 1

            # Every metric the dashboard names is exported (histograms as _bucket/_sum/_count, counters as _total).
            exported = {sample.name for sample in samples}
            named = {name for _t, _r, expr in targets(dashboard) for name in METRIC.findall(expr)}
            unknown = named - exported
            assert not unknown, f"the dashboard names metrics the daemon does not export: {sorted(unknown)}"
            assert len(named) >= 10

            # The org variable's query, as Grafana's label_values() asks it.
            orgs = prometheus.api("label/org/values", **{"match[]": "langsmith_rotator_org_poll_failed"})
            assert orgs == {"status": "success", "data": ["acme"]}

            # Every panel query parses and returns data, with $org as "All" (.*) and as the real org.
            empty, broken = [], []
            for org in (".*", "acme"):
                for title, ref, expr in targets(dashboard):
                    query = substitute(expr, values_for(dashboard, org))
                    answer = prometheus.query(query)
                    if answer.get("status") != "success":
                        broken.append(f"{title} {ref}: {query}\n  {answer.get('error')}")
                    elif not answer["data"]["result"]:
                        empty.append(f"{title} {ref} (org {org}): {query}")
            assert not broken, "queries Prometheus rejects:\n" + "\n".join(broken)
            assert not empty, "queries that returned no series:\n" + "\n".join(empty)

            check_values(prometheus, dashboard)
    finally:
        receiver.stop()
    daemon.terminate()
    daemon.process.wait(timeout=20)
    assert daemon.process.returncode == 0, daemon.tail()


def panel_queries(dashboard: dict[str, Any], title: str) -> list[str]:
    values = values_for(dashboard, "acme")
    return [substitute(expr, values) for t, _ref, expr in targets(dashboard) if t == title]


def check_values(prometheus: Prometheus, dashboard: dict[str, Any]) -> None:
    """What the key panels show matches what the world holds."""

    def scalar(expr: str) -> float:
        [one] = series(prometheus, expr)
        return float(one["value"][1])

    status = {}
    for panel in panels(dashboard):
        if panel["title"] == "Keys by status":
            for target in panel["targets"]:
                expr = substitute(target["expr"], values_for(dashboard, "acme"))
                status[target["legendFormat"]] = scalar(expr)
    # The admin key the world seeds never expires and is young; the replaced chatbot key is gone (deleted).
    assert status == {"expired": 1, "critical": 1, "warning": 1, "ok": 1, "too_old": 1, "no_expiry": 2}, status

    [days] = panel_queries(dashboard, "Days to expiry per key (most urgent first)")
    rows = series(prometheus, days)
    left = [float(row["value"][1]) for row in rows]
    assert left == sorted(left), "most urgent first"
    assert [row["metric"]["description"] for row in rows] == [
        "expired export",
        "critical ingest",
        "batch prod",
        "chatbot prod",
    ]
    assert rows[-1]["metric"]["managed"] == MANAGED and 89 < left[-1] <= 90, "the new key: 90 days"

    [holders, _holder] = panel_queries(dashboard, "Lease held")
    assert scalar(holders) == 1
    [since] = panel_queries(dashboard, "Time since the last successful cycle")
    assert 0 <= scalar(since) < 60
    failures = panel_queries(dashboard, "Rotations and rotation failures")[1]
    assert [row["metric"]["secret"] for row in series(prometheus, failures)] == [FAILING]
