"""``python -m bench``: every scenario against the sandbox (its own process) and a real OpenBao, a table each.

    python -m bench                         # everything (about 20 minutes on 2 cores)
    python -m bench --quick                 # a small subset, under about 2 minutes
    python -m bench -s inventory -l 20,100  # only the inventory, at 20 and 100 ms
    python -m bench --write-readme --label "before the concurrency work"

Scenarios: inventory, rotation, rate-limit, startup, memory (see bench/README.md). The capacity table (how busy
the sandbox was) follows whatever ran.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

if TYPE_CHECKING:
    from bench.report import Table
    from bench.scenarios import Bench

SCENARIOS = ("inventory", "rotation", "rate-limit", "startup", "memory", "profile")
DEFAULT_SCENARIOS = SCENARIOS[:-1]
"""``profile`` (cProfile of a rotation of 100 keys) runs only when asked for."""


def _ints(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give whole numbers separated by commas") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give numbers of at least 1")
    return values


def _latencies(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(part) / 1000 for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give milliseconds separated by commas") from None
    if not values or min(values) < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: give latencies of 0 ms or more")
    return values


def _scenarios(text: str) -> tuple[str, ...]:
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = sorted(set(names) - set(SCENARIOS))
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown scenario(s) {unknown}; choose from {', '.join(SCENARIOS)}")
    return names


def _knobs(text: str) -> dict[str, int]:
    knobs = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, value = part.partition("=")
        if not value.isdigit():
            raise argparse.ArgumentTypeError(f"{part!r}: write NAME=NUMBER, e.g. rotations=16")
        knobs[name.strip()] = int(value)
    return knobs


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small sizes and fewer repeats: under about 2 minutes")
    parser.add_argument(
        "-s",
        "--scenario",
        type=_scenarios,
        default=DEFAULT_SCENARIOS,
        help=f"comma-separated: {', '.join(SCENARIOS)} (default: all but profile)",
    )
    parser.add_argument("-l", "--latency", type=_latencies, help="inventory latencies in ms, e.g. 0,20,100")
    parser.add_argument("--orgs", type=_ints, help="inventory sizes, e.g. 10,100,300")
    parser.add_argument("--keys", type=_ints, help="rotation sizes (due keys), e.g. 100,500")
    parser.add_argument("--rotation-latency", type=_latencies, help="latency of the rotation scenarios, in ms")
    parser.add_argument(
        "--rate-limit", type=int, metavar="RPM", help="the sandbox's per-key limit in the rate-limit scenario"
    )
    parser.add_argument(
        "--rate-window", type=float, metavar="SECONDS", help="its window (default 60 s; 10 s with --quick)"
    )
    parser.add_argument("--repeat", type=int, help="runs per inventory client (best is kept)")
    parser.add_argument(
        "--concurrency",
        type=_knobs,
        default={},
        help="the rotator's concurrency section, e.g. rotations=16,inventory=64",
    )
    parser.add_argument("--product-path", type=Path, help="run the rotator package found in this directory instead")
    parser.add_argument("--write-readme", action="store_true", help="write the tables into bench/README.md")
    parser.add_argument("--label", default="", help="what the results are of, for the README heading")
    parser.add_argument("--json", type=Path, help="write every measurement here as JSON")
    parser.add_argument("--markdown", type=Path, help="write the results section (as for the README) here too")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    # Stopped by a signal, the servers it started are stopped too: SystemExit unwinds through their `with`s.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started in the background
    if args.product_path is not None:
        sys.path.insert(0, str(args.product_path.resolve()))  # before anything imports the rotator

    from bench import report, scenarios
    from bench.limits import RateLimit

    options = scenarios.QUICK if args.quick else scenarios.Options()
    changes: dict[str, object] = {"concurrency": args.concurrency}
    if args.latency:
        changes["inventory_latencies"] = args.latency
    if args.orgs:
        changes["inventory_orgs"] = args.orgs
    if args.keys:
        changes["rotation_keys"] = args.keys
    if args.rotation_latency:
        changes["rotation_latency"] = args.rotation_latency[0]
    if args.repeat:
        changes["repeat"] = args.repeat
    if args.rate_limit or args.rate_window:
        changes["rate"] = RateLimit(
            args.rate_limit or options.rate.requests_per_minute, args.rate_window or options.rate.window_seconds
        )
    if args.product_path is not None:
        changes["product_path"] = args.product_path.resolve()
    options = replace(options, **changes)  # type: ignore[arg-type]

    console = Console() if sys.stdout.isatty() else Console(width=220)
    started = time.monotonic()
    load_before = scenarios.load()
    heading = f"{scenarios.now_text()}" + (f" — {args.label}" if args.label else "")

    def log(message: str) -> None:
        console.print(f"[dim]{time.monotonic() - started:6.0f}s  {message}[/dim]")

    tables: list[Table] = []
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        bench = scenarios.Bench(options, Path(scratch), log)
        try:
            tables = run_scenarios(bench, args.scenario)
        finally:
            bench.close()
    elapsed = time.monotonic() - started
    summary = (
        f"Machine: {scenarios.machine()}. Load average (1, 5, 15 min) {load_before} at the start,"
        f" {scenarios.load()} at the end; the whole run took {elapsed / 60:.1f} min"
        + (" (--quick)" if options.quick else "")
        + "."
    )
    console.print(f"[bold]{heading}[/bold]\n{summary}\n")
    report.render(tables, console)
    section = f"### {heading}\n\n{summary}\n\n{report.markdown(tables)}"
    if args.markdown is not None:
        args.markdown.write_text(section, encoding="utf-8")
    if args.write_readme:
        report.write_readme(section)
        console.print(f"written to {report.README}")
    if args.json is not None:
        args.json.write_text(json.dumps(bench.raw, indent=2, default=str), encoding="utf-8")
    return 0


def run_scenarios(bench: Bench, names: Sequence[str]) -> list[Table]:
    from bench import report, scenarios

    options = bench.options
    tables: list[Table] = []
    if "startup" in names:
        tables += scenarios.startup_tables(bench)
    if "inventory" in names:
        rows = [
            row
            for orgs in options.inventory_orgs
            for row in scenarios.inventory_rows(bench, orgs, options.inventory_latencies)
        ]
        bench.raw["scenarios"]["inventory"] = scenarios._jsonable(rows)
        scenarios.compare_servers(bench, max(options.inventory_orgs))
        bench.raw["server_comparison"] = bench.server_comparison
        tables.append(
            scenarios.inventory_table(
                bench,
                rows,
                "inventory",
                f"(a) Inventory: `rotator check` of N orgs {report.X} {scenarios.KEYS_PER_ORG} keys",
            )
        )
    if "rotation" in names:
        rows_b = [
            scenarios.rotation_row(
                bench, keys=keys, orgs=orgs, latency=options.rotation_latency, rate=None, scenario="rotation"
            )
            for keys in options.rotation_keys
            for orgs in (options.rotation_orgs, 1)
        ]
        bench.raw["scenarios"]["rotation"] = scenarios._jsonable(rows_b)
        tables.append(
            scenarios.rotation_table(
                bench, rows_b, "rotation", "(b) Rotation: one `rotator once` cycle with every managed key due"
            )
        )
    if "rate-limit" in names:
        rate = options.rate
        inventory = scenarios.inventory_rows(
            bench, options.rate_inventory_orgs, (options.rate_inventory_latency,), rate, scenario="rate-limit inventory"
        )
        rotations = [
            scenarios.rotation_row(
                bench,
                keys=options.rate_rotation_keys,
                orgs=orgs,
                latency=options.rotation_latency,
                rate=rate,
                scenario="rate-limit rotation",
            )
            for orgs in (options.rotation_orgs, 1)
        ]
        bench.raw["scenarios"]["rate-limit"] = scenarios._jsonable({"inventory": inventory, "rotation": rotations})
        title = f"under the sandbox's per-key rate limit of {scenarios._rate(rate)}"
        tables.append(scenarios.inventory_table(bench, inventory, "rate-inventory", f"(c) Inventory {title}"))
        tables.append(scenarios.rotation_table(bench, rotations, "rate-rotation", f"(c) Rotation {title}"))
    if "memory" in names:
        tables.append(scenarios.memory_table(bench))
    if "profile" in names:
        tables += scenarios.profile_tables(bench, keys=20 if options.quick else 100)
    capacity = scenarios.capacity_table(bench)
    if capacity is not None:
        tables.append(capacity)
    bench.raw["samples"] = scenarios._jsonable(bench.samples)
    return tables


if __name__ == "__main__":
    sys.exit(main())
