"""The bench's harness: its configs, seeds and tables have the right shape, and tiny scenarios run with no failure.
Nothing here looks at a wall-clock time."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from bench import report, scenarios
from bench.configs import concurrency_fields, rotator_config
from bench.limits import RateLimit
from bench.worlds import OrgHandle, World, inventory_seed, rotation_seed
from rotator.config import Settings
from tests.support.openbao import require_bao

ORG_ID = "00000000-0000-4000-8000-000000000001"


def world() -> World:
    org = OrgHandle("bench-0", ORG_ID, "key-id", "lsv2_sk_" + "a" * 32 + "_" + "b" * 10)
    return World("bench", (org,), 50)


def test_seeds_have_the_sizes_asked_for() -> None:
    seed = inventory_seed("t", 3, 50)
    assert len(seed["orgs"]) == 3
    assert all(len(org["service_keys"]) == 50 for org in seed["orgs"])
    spread = rotation_seed("r", 3, 10)
    assert sum(len(org["service_keys"]) - 1 for org in spread["orgs"]) == 10
    shared = rotation_seed("s", 1, 10)
    assert len(shared["orgs"][0]["service_keys"]) == 11


def test_the_config_sets_the_knobs_the_product_has_and_says_which_it_has_not() -> None:
    known = sorted(concurrency_fields())
    asked = {name: 4 for name in known} | {"no_such_knob": 2}
    config, environ, knobs = rotator_config(world(), "http://127.0.0.1:1/api/v1", concurrency=asked)
    Settings.model_validate(config)
    assert environ == {"BENCH_ADMIN_KEY_0": world().orgs[0].admin_secret}
    assert config["orgs"][0]["organization_id"] == ORG_ID
    assert knobs.skipped == {"concurrency.no_such_knob": 2}
    assert {name.removeprefix("concurrency.") for name in knobs.applied} == set(known)
    assert "no_such_knob" not in config.get("concurrency", {})


def test_tables_render_as_markdown_and_fill_the_readme_between_its_markers(tmp_path: Path) -> None:
    table = report.Table("t", "A title", ["a", "b"])
    table.add("x", "1|2")
    table.notes.append("a note")
    with pytest.raises(ValueError, match="cells"):
        table.add("only one")
    text = report.markdown([table])
    assert "| a | b |\n|:---|---:|\n| x | 1\\|2 |" in text
    assert "- a note" in text
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{report.START_MARKER}\nold\n{report.END_MARKER}\noutro\n")
    report.write_readme("new results", readme)
    assert readme.read_text() == f"intro\n{report.START_MARKER}\nnew results\n{report.END_MARKER}\noutro\n"
    (tmp_path / "bare.md").write_text("no markers")
    with pytest.raises(ValueError, match="section"):
        report.write_readme("x", tmp_path / "bare.md")


@pytest.fixture
def bench(tmp_path: Path) -> Iterator[scenarios.Bench]:
    options = scenarios.Options(repeat=1, startup_repeat=1)
    harness = scenarios.Bench(options, tmp_path, lambda message: None)
    try:
        yield harness
    finally:
        harness.close()


@pytest.mark.integration
@pytest.mark.timeout(300)
def test_a_tiny_inventory_runs_with_no_failure(bench: scenarios.Bench) -> None:
    (row,) = scenarios.inventory_rows(bench, 2, (0.0,))
    assert (row.product.failed, row.failed_orgs, row.sequential.failed) == (0, 0, 0)
    assert row.listed == 2 * scenarios.KEYS_PER_ORG
    assert row.product.requests == row.sequential.requests == 2 * 3
    table = scenarios.inventory_table(bench, [row], "inventory", "tiny")
    assert len(table.rows) == 1


@pytest.mark.integration
@pytest.mark.timeout(300)
def test_a_tiny_rotation_under_a_rate_limit_completes_with_no_failure(bench: scenarios.Bench) -> None:
    require_bao()
    row = scenarios.rotation_row(bench, keys=2, orgs=1, latency=0.0, rate=RateLimit(6000), scenario="tiny rotation")
    assert (row.completed, row.product.failed, row.exit_code) == (2, 0, 0)
    assert row.vault_requests > 0
    assert row.sequential.requests > 0
    assert row.busiest_key > 0
    assert row.limit == pytest.approx(0.0), "at 0 ms and with every request inside one window nothing binds"
    table = scenarios.rotation_table(bench, [row], "rotation", "tiny")
    assert len(table.rows) == 1
