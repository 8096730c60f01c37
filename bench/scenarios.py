"""The scenarios: each seeds a sandbox of its own (a separate process), measures the rotator and the baselines in
the same run against it, and returns tables whose limits come from the counts the servers kept."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from bench import limits
from bench.configs import VaultTarget, concurrency_fields, rotator_config, write_config
from bench.limits import RateLimit, Target
from bench.procs import Run, count_lines, memory_kb, run, worker
from bench.report import Table, X, megabytes, percent, seconds, times, verdict
from bench.sandbox import SandboxProcess
from bench.vault import BenchVault
from bench.worlds import World, seed_inventory, seed_rotation

T = TypeVar("T")
REPO = Path(__file__).resolve().parent.parent

KEYS_PER_ORG = 50
INVENTORY_TARGET = Target(f"≤ 1.3{X} ideal", 1.3)
SEQUENTIAL_TARGET = Target(f"≥ 10{X} faster than sequential at 100 ms", 10.0, at_least=True)
SHARED_KEY_TARGET = Target(f"≤ 1.3{X} rate bound", 1.3)
MANY_KEYS_TARGET = Target(f"≤ 3{X} max(limit, 1 s)", 3.0)
STARTUP_TARGET = Target(f"≤ 1.5{X} import httpx", 1.5)
IDLE_RSS_TARGET_MB = 50.0
DEFAULT_RATE = RateLimit(600)
"""The rate-limit scenario's per-key limit: low enough that 100 rotations through one key overrun a window."""
ROTATION_FLOOR = 1.0
"""The many-keys target's floor: a cycle of `rotator once` is allowed a second whatever the limit."""


@dataclass(frozen=True)
class Options:
    quick: bool = False
    inventory_orgs: tuple[int, ...] = (10, 100, 300)
    inventory_latencies: tuple[float, ...] = (0.0, 0.02, 0.1)
    rotation_keys: tuple[int, ...] = (100, 500)
    rotation_orgs: int = 10
    rotation_latency: float = 0.02
    rate: RateLimit = DEFAULT_RATE
    rate_inventory_orgs: int = 300
    rate_inventory_latency: float = 0.1
    rate_rotation_keys: int = 100
    repeat: int = 2
    startup_repeat: int = 5
    daemon_orgs: int = 100
    daemon_cycles: int = 3
    memory_orgs: int = 300
    concurrency: Mapping[str, int] = field(default_factory=dict)
    product_path: Path | None = None
    """Run this copy of the rotator (prepended to PYTHONPATH) instead of the installed one."""


QUICK = Options(
    quick=True,
    inventory_orgs=(10, 100),
    inventory_latencies=(0.02,),
    rotation_keys=(20,),
    rotation_orgs=4,
    rate=RateLimit(240, window_seconds=10.0),  # 40 per 10 s: 10 rotations through one key overrun a window
    rate_inventory_orgs=30,
    rate_inventory_latency=0.02,
    rate_rotation_keys=10,
    repeat=1,
    startup_repeat=3,
    daemon_orgs=10,
    daemon_cycles=2,
    memory_orgs=100,
)


@dataclass
class Sample:
    """One client's run against the sandbox, as the sandbox counted it."""

    scenario: str
    client: str
    wall: float
    requests: int
    failed: int
    """Answers that were not 2xx (429s included), and dropped connections."""
    refused: int
    """429 answers."""
    sandbox_cpu: float
    by_route: dict[str, int] = field(default_factory=dict)
    client_cpu: float | None = None
    """CPU seconds of the client itself while it ran (for the CLI: its whole process, start-up included)."""

    @property
    def sandbox_share(self) -> float | None:
        return self.sandbox_cpu / self.wall if self.wall > 0 else None


def _failed(by_status: Mapping[str, int]) -> int:
    return sum(count for status, count in by_status.items() if not status.startswith("2"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def host_environ() -> dict[str, str]:
    """This environment, less what would configure the rotator (or Vault) behind the config file's back."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "LANGSMITH_", "ROTATOR_", "BAO_"))}


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


class Bench:
    """What the scenarios share: options, a scratch directory, one OpenBao, the samples taken and the notes."""

    def __init__(self, options: Options, workdir: Path, log: Callable[[str], None]) -> None:
        self.options = options
        self.workdir = workdir
        self.log = log
        self.samples: list[Sample] = []
        self.raw: dict[str, Any] = {"options": _jsonable(options), "scenarios": {}}
        self.startup: dict[str, float] = {}
        self.server_comparison: dict[str, dict[str, float]] = {}
        self._vault: BenchVault | None = None
        self.env = host_environ()
        self.env["COLUMNS"] = "200"
        # Every process runs in the scratch directory, with the bench (and the rotator to measure) on its path.
        paths = [str(options.product_path)] if options.product_path is not None else []
        paths += [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]
        self.env["PYTHONPATH"] = os.pathsep.join(paths)
        if options.product_path is not None:
            self.env["BENCH_PRODUCT_PATH"] = str(options.product_path)
        self.rotator = str(Path(sys.executable).parent / "rotator")
        if not Path(self.rotator).exists():
            self.rotator = shutil.which("rotator") or "rotator"

    @functools.cached_property
    def startup_cpu(self) -> float:
        """CPU seconds of `rotator --version` (the imports and the interpreter), best of three: what a run spends
        before it does anything."""
        return min(self.run([self.rotator, "--version"]).cpu for _ in range(3))

    @property
    def vault(self) -> BenchVault:
        if self._vault is None:
            self._vault = BenchVault().start()
        return self._vault

    def close(self) -> None:
        if self._vault is not None:
            self._vault.stop()
            self._vault = None

    # ── measuring ───────────────────────────────────────────────────────────────────────────────────────

    def measure(self, sandbox: SandboxProcess, scenario: str, client: str, action: Callable[[], T]) -> tuple[T, Sample]:
        sandbox.reset_counts()
        cpu = sandbox.cpu_seconds()
        started = time.perf_counter()
        value = action()
        wall = time.perf_counter() - started
        counts = sandbox.counts()
        by_status: dict[str, int] = counts["by_status"]
        sample = Sample(
            scenario,
            client,
            wall,
            int(counts["total"]),
            _failed(by_status),
            int(by_status.get("429", 0)),
            sandbox.cpu_seconds() - cpu,
            dict(counts["by_route"]),
        )
        self.samples.append(sample)
        return value, sample

    def rotator_run(self, config: Path, environ: Mapping[str, str], *args: str, timeout: float = 3600) -> Run:
        argv = [self.rotator, "--config", str(config), "--log-format", "json", *args]
        return self.run(argv, env=environ, timeout=timeout)

    def run(self, argv: Sequence[str], *, env: Mapping[str, str] | None = None, timeout: float = 120) -> Run:
        return run(argv, env={**self.env, **(env or {})}, timeout=timeout, cwd=self.workdir)

    def worker(self, task: str, spec: Mapping[str, Any], timeout: float = 3600) -> dict[str, Any]:
        return worker(task, spec, env=self.env, timeout=timeout, cwd=self.workdir)

    def config(self, name: str, world: World, endpoint: str, **options: Any) -> tuple[Path, dict[str, str], str]:
        data, environ, knobs = rotator_config(world, endpoint, concurrency=self.options.concurrency, **options)
        return write_config(self.workdir, name, data), environ, knobs.describe()


def _jsonable(value: object) -> object:
    if hasattr(value, "__dataclass_fields__"):
        return {name: _jsonable(getattr(value, name)) for name in value.__dataclass_fields__}
    if isinstance(value, tuple | list):
        return [_jsonable(item) for item in value]
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, Path):
        return str(value)
    return value


def _ms(latency: float) -> str:
    return f"{latency * 1000:.0f} ms"


def _rate(rate: RateLimit | None) -> str:
    if rate is None:
        return "none"
    window = "" if rate.window_seconds == 60 else f" ({rate.limit} per {rate.window_seconds:g} s)"
    return f"{rate.requests_per_minute}/min{window}"


@contextlib.contextmanager
def sandbox_process(rate: RateLimit | None = None) -> Iterator[SandboxProcess]:
    with SandboxProcess(rate_limit=rate) as sandbox:
        yield sandbox


# ── (a) inventory, and (c) its rate-limited case ────────────────────────────────────────────────────────


@dataclass
class InventoryRow:
    orgs: int
    latency: float
    rate: RateLimit | None
    product: Sample
    cli_wall: float
    cli_peak_rss_kb: int
    inprocess: float
    ideal: float
    ideal_client: str
    sequential: Sample
    limit: float
    failed_orgs: int
    listed: int
    knobs: str
    busiest_key: int


def inventory_rows(
    bench: Bench, orgs: int, latencies: Sequence[float], rate: RateLimit | None = None, scenario: str = "inventory"
) -> list[InventoryRow]:
    options = bench.options
    rows = []
    with sandbox_process(rate) as sandbox:
        tag = f"i{orgs}"
        world = seed_inventory(sandbox, tag, orgs, KEYS_PER_ORG)
        budget = limits.client_budget(rate) if rate is not None else None
        config, environ, knobs = bench.config(f"{scenario}-{orgs}", world, sandbox.api_url, requests_per_minute=budget)
        spec = {
            "api_url": sandbox.api_url,
            "orgs": [{"org_id": org.org_id, "secret": org.admin_secret} for org in world.orgs],
        }
        for latency in latencies:
            sandbox.set_latency(latency)
            label = f"{scenario} {orgs} orgs {_ms(latency)}"
            bench.log(f"{label}: rotator check")
            before = sandbox.requests_by_key() if rate is not None else Counter()
            busiest = 0
            cli_runs = []
            product: Sample | None = None
            for attempt in range(options.repeat):
                done, sample = bench.measure(
                    sandbox, label, "rotator check", lambda: bench.rotator_run(config, environ, "check", "-o", "json")
                )
                if attempt == 0:
                    after = sandbox.requests_by_key() if rate is not None else Counter()
                    busiest = max((after[key] - before[key] for key in after), default=0)
                sample.client_cpu = done.cpu
                if done.code not in (0, 1, 2):
                    raise RuntimeError(f"rotator check exited {done.code}: {done.stderr[-2000:]}")
                report = json.loads(done.stdout)
                cli_runs.append((done, report))
                if product is None or sample.wall < product.wall:
                    product = sample
            assert product is not None
            fastest, report = min(cli_runs, key=lambda item: item[0].wall)
            failed_orgs = max(len(r["failed_orgs"]) for _, r in cli_runs)
            listed = min(len(r["keys"]) for _, r in cli_runs)
            bench.log(f"{label}: in-process check, ideal clients, sequential")
            inprocess = min(
                bench.worker("inventory-inprocess", {"config": str(config), "environ": environ})["seconds"]
                for _ in range(options.repeat)
            )
            ideal_runs: list[tuple[float, str]] = []
            for task in ("inventory-ideal-async", "inventory-ideal-threads"):
                client = task.removeprefix("inventory-")
                for _ in range(options.repeat):
                    answer, sample = bench.measure(sandbox, label, client, functools.partial(bench.worker, task, spec))
                    sample.wall = answer["seconds"]  # the requests alone, not the worker's start-up
                    sample.client_cpu = answer["cpu_seconds"]
                    if answer["failed"]:
                        raise RuntimeError(f"{task}: {answer['failed']} requests failed")
                    ideal_runs.append((answer["seconds"], client.removeprefix("ideal-")))
            ideal, ideal_client = min(ideal_runs)
            answer, sequential = bench.measure(
                sandbox, label, "sequential", lambda: bench.worker("inventory-sequential", spec)
            )
            sequential.wall = answer["seconds"]
            sequential.client_cpu = answer["cpu_seconds"]
            limit = limits.physical_limit(limits.INVENTORY_CHAIN, latency, {"busiest": busiest} if rate else {}, rate)
            rows.append(
                InventoryRow(
                    orgs,
                    latency,
                    rate,
                    replace(product, wall=fastest.wall),
                    fastest.wall,
                    max(done.max_rss_kb for done, _ in cli_runs),
                    inprocess,
                    ideal,
                    ideal_client,
                    sequential,
                    limit,
                    failed_orgs,
                    listed,
                    knobs,
                    busiest,
                )
            )
    return rows


def inventory_table(bench: Bench, rows: Sequence[InventoryRow], key: str, title: str) -> Table:
    table = Table(
        key,
        title,
        [
            "orgs",
            "latency",
            "requests",
            "limit",
            "ideal",
            "sequential",
            "rotator check",
            "in-process",
            "in-proc / ideal",
            "seq / in-proc",
            "in-proc / limit",
            "failed req / orgs",
            "sandbox CPU",
        ],
    )
    for row in rows:
        to_ideal = limits.ratio(row.inprocess, row.ideal)
        speedup = limits.ratio(row.sequential.wall, row.inprocess)
        # At 0 ms every client is CPU-bound and all in flight is no lower bound (one connection is faster): no verdict.
        ideal_mark = verdict(INVENTORY_TARGET.met(to_ideal)) if row.latency > 0 else ""
        seq_mark = verdict(SEQUENTIAL_TARGET.met(speedup)) if row.latency >= 0.1 else ""
        table.add(
            row.orgs,
            _ms(row.latency),
            row.product.requests,
            seconds(row.limit),
            f"{seconds(row.ideal)} ({row.ideal_client})",
            seconds(row.sequential.wall),
            seconds(row.cli_wall),
            seconds(row.inprocess),
            f"{times(to_ideal)} {ideal_mark}".strip(),
            f"{times(speedup)} {seq_mark}".strip(),
            times(limits.ratio(row.inprocess, row.limit)),
            f"{row.product.failed} / {row.failed_orgs}"
            + (f" {verdict(row.product.failed == 0 and row.failed_orgs == 0)}" if row.rate else ""),
            percent(row.product.sandbox_share),
        )
    knobs = sorted({row.knobs for row in rows})
    table.notes += [
        f"{KEYS_PER_ORG} service keys per org; requests are the rotator's, counted at the sandbox (the baselines"
        f" make the same ones); limit = 1 request deep {X} latency"
        + (
            ", or the busiest key's requests ÷ the rate, if larger (and more than one window admits)"
            if any(row.rate for row in rows)
            else ""
        ),
        "rotator check: the CLI end to end (start-up included, `-o json`); in-process:"
        " Rotator(build_services()).check() in a fresh process, timed after start-up; ratios use in-process. Best of "
        f"{bench.options.repeat}; ideal: the faster of asyncio.gather and a thread per request (bare httpx).",
        f"targets: in-process ≤ {INVENTORY_TARGET.factor}{X} ideal (not judged at 0 ms, where every client is"
        f" CPU-bound and one connection beats all in flight); ≥ {SEQUENTIAL_TARGET.factor:g}{X} faster than"
        " sequential at 100 ms. Config: " + "; ".join(knobs),
        "sandbox CPU: the sandbox process's CPU time during the rotator's run, as a share of one core.",
    ]
    return table


# ── (b) rotation, and (c) its rate-limited cases ────────────────────────────────────────────────────────


@dataclass
class RotationRow:
    keys: int
    orgs: int
    latency: float
    rate: RateLimit | None
    product: Sample
    vault_requests: int
    busiest_key: int
    limit: float
    sequential: Sample
    sequential_vault: int
    outcomes: dict[str, int]
    completed: int
    exit_code: int
    knobs: str
    cpu: float
    vault_cpu: float


def rotation_row(
    bench: Bench, *, keys: int, orgs: int, latency: float, rate: RateLimit | None, scenario: str
) -> RotationRow:
    vault = bench.vault
    run_id = uuid.uuid4().hex[:8]
    label = f"{scenario} {keys} keys / {orgs} admin keys"
    with sandbox_process(rate) as sandbox:
        bench.log(f"{label}: seeding")
        world = seed_rotation(sandbox, f"r{run_id}", orgs, keys, f"bench-{run_id}")
        naive = seed_rotation(sandbox, f"n{run_id}", orgs, keys, f"bench-{run_id}-naive")
        for handle in (*world.managed, *naive.managed):
            vault.store(handle.path, {"api_key": handle.secret, "key_id": handle.key_id})
        sandbox.set_latency(latency)
        target = VaultTarget(vault.address, vault.token, f"bench-{run_id}/state", f"bench-{run_id}")
        budget = limits.client_budget(rate) if rate is not None else None
        config, environ, knobs = bench.config(
            f"{scenario}-{keys}-{orgs}", world, sandbox.api_url, vault=target, requests_per_minute=budget
        )
        bench.log(f"{label}: rotator once")
        before = sandbox.requests_by_key()
        offset = vault.audit_offset()
        vault_cpu = vault.cpu_seconds()
        done, product = bench.measure(
            sandbox, label, "rotator once", lambda: bench.rotator_run(config, environ, "once")
        )
        vault_cpu = vault.cpu_seconds() - vault_cpu
        product.client_cpu = done.cpu
        vault_requests = sum(vault.requests_since(offset).values())
        after = sandbox.requests_by_key()
        records = {record["id"]: record for record in sandbox.key_records()}
        busiest = max((after[key] - before[key] for key in after), default=0)
        outcomes = Counter(
            event.get("result", "?") for event in _log_events(done.stderr) if event.get("event") == "rotation.outcome"
        )
        completed = sum(1 for handle in world.managed if records[handle.key_id]["deleted_at"] is not None)
        bench.log(f"{label}: sequential baseline")
        spec = {
            "api_url": sandbox.api_url,
            "vault_address": vault.address,
            "vault_token": vault.token,
            "orgs": [{"org_id": org.org_id, "secret": org.admin_secret} for org in naive.orgs],
            "keys": [
                {"org": index % orgs, "key_id": handle.key_id, "path": handle.path}
                for index, handle in enumerate(naive.managed)
            ],
        }
        offset = vault.audit_offset()
        answer, sequential = bench.measure(
            sandbox, label, "sequential", lambda: bench.worker("rotation-sequential", spec)
        )
        sequential.wall = answer["seconds"]
        sequential.client_cpu = answer["cpu_seconds"]
        sequential_vault = sum(vault.requests_since(offset).values())
    limit = limits.physical_limit(limits.CYCLE_WITH_ROTATIONS_CHAIN, latency, {"busiest": busiest}, rate)
    return RotationRow(
        keys,
        orgs,
        latency,
        rate,
        replace(product, wall=done.wall),
        vault_requests,
        busiest,
        limit,
        sequential,
        sequential_vault,
        dict(outcomes),
        completed,
        done.code,
        knobs,
        done.cpu,
        vault_cpu,
    )


def _log_events(stderr: str) -> Iterator[dict[str, Any]]:
    for line in stderr.splitlines():
        if line.startswith("{"):
            with contextlib.suppress(json.JSONDecodeError):
                event = json.loads(line)
                if isinstance(event, dict):
                    yield event


def rotation_target(row: RotationRow) -> tuple[Target | None, float]:
    """The target that applies, and the reference it multiplies: one admin key under a rate limit that binds is
    held to the rate bound; otherwise (many keys, or a limit its requests never reach) to 3 times max(limit, 1 s)."""
    binding = limits.rate_bound({"busiest": row.busiest_key}, row.rate) > 0
    if row.orgs == 1 and binding:
        return SHARED_KEY_TARGET, row.limit
    if row.orgs > 1 or row.rate is not None:
        return MANY_KEYS_TARGET, max(row.limit, ROTATION_FLOOR)
    return None, row.limit


def rotation_table(bench: Bench, rows: Sequence[RotationRow], key: str, title: str) -> Table:
    table = Table(
        key,
        title,
        [
            "keys",
            "admin keys",
            "latency",
            "LangSmith req",
            "Vault req",
            "busiest key",
            "limit",
            "sequential",
            "rotator once",
            "once / limit",
            "target",
            "seq / once",
            "failed req",
            "completed",
            "CPU",
            "sandbox CPU",
        ],
    )
    for row in rows:
        target, reference = rotation_target(row)
        against = limits.ratio(row.product.wall, reference)
        table.add(
            row.keys,
            row.orgs,
            _ms(row.latency),
            f"{row.product.requests} ({row.product.requests / row.keys:.1f}/key)",
            f"{row.vault_requests} ({row.vault_requests / row.keys:.1f}/key)",
            row.busiest_key,
            seconds(row.limit),
            seconds(row.sequential.wall),
            seconds(row.product.wall),
            times(limits.ratio(row.product.wall, row.limit)),
            f"{target.text} {verdict(target.met(against))}" if target else "- (see rate limit)",
            times(limits.ratio(row.sequential.wall, row.product.wall)),
            f"{row.product.failed}"
            + (f" ({row.product.refused} {X} 429)" if row.product.refused else "")
            + (f" {verdict(row.product.failed == 0 and row.completed == row.keys)}" if row.rate else ""),
            f"{row.completed}/{row.keys}" + ("" if row.exit_code == 0 else f" (exit {row.exit_code})"),
            f"{row.cpu:.1f} s ({max(0.0, row.cpu - bench.startup_cpu) / row.keys * 1000:.0f} ms/key)",
            percent(row.product.sandbox_share),
        )
    knobs = sorted({row.knobs for row in rows})
    rates = sorted({_rate(row.rate) for row in rows})
    table.notes += [
        "rotator once: the CLI end to end (start-up included): inventory, every due key rotated (grace 0: created,"
        " verified, stored in OpenBao, old key deleted), inventory again. completed: old keys deleted at the sandbox.",
        f"limit = {limits.CYCLE_WITH_ROTATIONS_CHAIN} requests deep {X} latency (inventory, create, verify, delete), or"
        " the busiest key's admitted requests ÷ the sandbox's rate, if larger (and more than one window admits)."
        " busiest key: requests the sandbox answered for the busiest API key during the run.",
        "sequential: a naive script making the same LangSmith requests one after another (and 4 Vault requests per"
        " key), on a copy of the world; it waits out each 429 as told.",
        "Vault req: counted in OpenBao's audit log. CPU: the rotator process's user+system time; per key, less"
        f" the {bench.startup_cpu:.2f} s `rotator --version` takes.",
        f"sandbox rate limit: {', '.join(rates)}. Config: " + "; ".join(knobs),
    ]
    return table


# ── (d) start-up and memory ─────────────────────────────────────────────────────────────────────────────


@dataclass
class Timing:
    command: str
    walls: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.walls)

    @property
    def best(self) -> float:
        return min(self.walls)


def startup_tables(bench: Bench) -> list[Table]:
    python = sys.executable
    repeat = bench.options.startup_repeat
    with sandbox_process() as sandbox:
        world = seed_inventory(sandbox, "s1", 1, KEYS_PER_ORG)
        config, environ, _ = bench.config("startup", world, sandbox.api_url)
        commands: list[tuple[str, list[str], Mapping[str, str]]] = [
            ('python -c "pass"', [python, "-c", "pass"], {}),
            ('python -c "import httpx"', [python, "-c", "import httpx"], {}),
            ("rotator --version", [bench.rotator, "--version"], {}),
            ("rotator check --help", [bench.rotator, "check", "--help"], {}),
            (
                "rotator check (1 org, 0 ms)",
                [bench.rotator, "--config", str(config), "check", "-o", "json"],
                environ,
            ),
        ]
        timings = []
        for name, argv, extra in commands:
            bench.log(f"start-up: {name}")
            walls = []
            for attempt in range(repeat + 1):
                done = bench.run(argv, env=extra)
                if done.code not in (0, 1, 2):
                    raise RuntimeError(f"{name} exited {done.code}: {done.stderr[-2000:]}")
                if attempt:  # the first run warms the page cache
                    walls.append(done.wall)
            timings.append(Timing(name, walls))
    reference = timings[1].median
    bench.startup = {timing.command: timing.median for timing in timings}
    table = Table(
        "startup",
        "Start-up: wall time of a fresh process",
        ["command", "best", "median", "median / import httpx", "target"],
    )
    for timing in timings:
        to_httpx = limits.ratio(timing.median, reference)
        targeted = timing.command.startswith(("rotator --version", "rotator check (1"))
        table.add(
            timing.command,
            seconds(timing.best),
            seconds(timing.median),
            times(to_httpx),
            f"{STARTUP_TARGET.text} {verdict(STARTUP_TARGET.met(to_httpx))}" if targeted else "",
        )
    table.notes.append(f"{repeat} runs each after one warm-up run; the 1-org check lists {KEYS_PER_ORG} keys.")
    return [table, importtime_table(bench)]


_IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|(\s+)(\S+)")


def importtime_table(bench: Bench, top: int = 12) -> Table:
    argv = [sys.executable, "-X", "importtime", "-c", "import rotator.cli"]
    bench.run(argv)  # warm the page cache
    done = bench.run(argv)
    if done.code != 0:
        raise RuntimeError(f"python -X importtime -c 'import rotator.cli' exited {done.code}: {done.stderr[-2000:]}")
    modules = []
    for line in done.stderr.splitlines():
        match = _IMPORT_LINE.match(line)
        if match:
            self_us, cumulative_us, indent, name = match.groups()
            modules.append((name, int(self_us), int(cumulative_us), (len(indent) - 1) // 2))
    total = max((cumulative for _, _, cumulative, depth in modules if depth == 0), default=0)
    by_package: Counter[str] = Counter()
    for name, self_us, _, _ in modules:
        by_package[name.split(".")[0]] += self_us
    table = Table(
        "importtime",
        "python -X importtime -c 'import rotator.cli': the modules that cost most (cumulative)",
        ["module", "depth", "cumulative", "self"],
    )
    for name, self_us, cumulative_us, depth in sorted(modules, key=lambda m: -m[2])[:top]:
        table.add(name, depth, seconds(cumulative_us / 1e6), seconds(self_us / 1e6))
    packages = ", ".join(f"{name} {us / 1000:.0f} ms" for name, us in by_package.most_common(10))
    table.notes += [
        f"all imports: {seconds(sum(self_us for _, self_us, _, _ in modules) / 1e6)}; rotator.cli's own tree"
        f" {seconds(total / 1e6)} (one run after a warm-up, so the numbers are noisy)",
        f"self time by top-level package: {packages}",
    ]
    return table


def memory_table(bench: Bench) -> Table:
    table = Table("memory", "Memory: resident set of the rotator", ["process", "measure", "value", "target"])
    daemon_rows(bench, table)
    peak_rows(bench, table)
    table.notes.append(
        "The daemon polls every 10 s (the shortest poll_interval allowed), jitter 0; its 10 managed keys are due,"
        " so the first cycle rotates them and the later ones are idle. VmRSS is read from /proc/PID/status half a"
        " second after each cycle.finished log line; peak RSS of a finished process from wait4's ru_maxrss."
    )
    return table


def daemon_rows(bench: Bench, table: Table) -> None:
    """`rotator run` for a few cycles: its resident set after each."""
    options = bench.options
    vault = bench.vault
    run_id = uuid.uuid4().hex[:8]
    with sandbox_process() as sandbox:
        sandbox.set_latency(0.02)
        inventory = seed_inventory(sandbox, f"m{run_id}", options.daemon_orgs, KEYS_PER_ORG)
        rotation = seed_rotation(sandbox, f"d{run_id}", 1, 10, f"bench-{run_id}")
        for handle in rotation.managed:
            vault.store(handle.path, {"api_key": handle.secret, "key_id": handle.key_id})
        world = World("daemon", inventory.orgs + rotation.orgs, KEYS_PER_ORG, rotation.managed)
        port = free_port()
        target = VaultTarget(vault.address, vault.token, f"bench-{run_id}/state", f"bench-{run_id}")
        config, environ, _ = bench.config(
            "daemon",
            world,
            sandbox.api_url,
            vault=target,
            poll_interval="10s",
            daemon={"jitter": "0s", "listen": f"127.0.0.1:{port}"},
        )
        log_path = bench.workdir / "daemon.log"
        bench.log(f"memory: rotator run, {options.daemon_cycles} cycles of {len(world.orgs)} orgs")
        readings = []
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [bench.rotator, "--config", str(config), "--log-format", "json", "run"],
                stdout=subprocess.DEVNULL,
                stderr=log,
                stdin=subprocess.DEVNULL,
                env={**bench.env, **environ},
                cwd=bench.workdir,
            )
            try:
                deadline = time.monotonic() + 60 + 15 * options.daemon_cycles
                seen = 0
                while seen < options.daemon_cycles:
                    if process.poll() is not None:
                        raise RuntimeError(f"rotator run exited {process.returncode}: {log_path.read_text()[-2000:]}")
                    if time.monotonic() > deadline:
                        raise RuntimeError("rotator run did not finish its cycles in time")
                    finished = count_lines(log_path, '"cycle.finished"')
                    if finished > seen:
                        seen = finished
                        time.sleep(0.5)  # let the cycle's garbage go
                        readings.append(memory_kb(process.pid))
                    time.sleep(0.1)
            finally:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(10)
        durations = [
            event.get("duration_s")
            for event in _log_events(log_path.read_text())
            if event.get("event") == "cycle.finished"
        ]
    for index, reading in enumerate(readings, start=1):
        last = index == len(readings)
        rss_mb = reading.get("VmRSS", 0) / 1024
        table.add(
            f"rotator run ({len(world.orgs)} orgs {X} {KEYS_PER_ORG} keys, 10 managed)" if index == 1 else "",
            f"VmRSS after cycle {index}" + (f" ({durations[index - 1]} s)" if index <= len(durations) else ""),
            megabytes(reading.get("VmRSS")),
            (f"< {IDLE_RSS_TARGET_MB:.0f} MB idle {verdict(rss_mb < IDLE_RSS_TARGET_MB)}" if last else ""),
        )
    if readings:
        table.add("", "VmHWM (peak so far)", megabytes(readings[-1].get("VmHWM")), "")


def peak_rows(bench: Bench, table: Table) -> None:
    """Peak RSS of one large `rotator check`, beside the interpreter's own with the imports alone."""
    options = bench.options
    with sandbox_process() as sandbox:
        sandbox.set_latency(0.02)
        world = seed_inventory(sandbox, "p", options.memory_orgs, KEYS_PER_ORG)
        config, environ, _ = bench.config("memory-check", world, sandbox.api_url)
        bench.log(f"memory: rotator check of {options.memory_orgs} orgs")
        done = bench.rotator_run(config, environ, "check", "-o", "json")
    imported = bench.run([sys.executable, "-c", "import rotator.cli"])
    httpx_only = bench.run([sys.executable, "-c", "import httpx"])
    table.add(
        f"rotator check ({options.memory_orgs} orgs {X} {KEYS_PER_ORG} keys, 20 ms)",
        "peak RSS (VmHWM)",
        megabytes(done.max_rss_kb),
        "",
    )
    table.add('python -c "import rotator.cli"', "peak RSS (VmHWM)", megabytes(imported.max_rss_kb), "")
    table.add('python -c "import httpx"', "peak RSS (VmHWM)", megabytes(httpx_only.max_rss_kb), "")


# ── server capacity and the machine ─────────────────────────────────────────────────────────────────────


def compare_servers(bench: Bench, orgs: int) -> None:
    """The ideal client (a thread per request) at 0 ms against both sandbox servers, for the capacity table: the
    thread-per-connection one (``serve --io threads``) and the event loop the scenarios use."""

    def spec_of(sandbox: SandboxProcess, world: World) -> dict[str, Any]:
        orgs = [{"org_id": org.org_id, "secret": org.admin_secret} for org in world.orgs]
        return {"api_url": sandbox.api_url, "orgs": orgs}

    for io in ("threads", "asyncio"):
        with SandboxProcess(io=io) as sandbox:
            world = seed_inventory(sandbox, f"c{io[0]}", orgs, KEYS_PER_ORG)
            bench.log(f"capacity: the ideal client against the {io} sandbox, {orgs} orgs at 0 ms")
            answer, sample = bench.measure(
                sandbox,
                f"{io} server",
                "ideal-threads",
                functools.partial(bench.worker, "inventory-ideal-threads", spec_of(sandbox, world)),
            )
            bench.samples.remove(sample)  # not a scenario of its own
            bench.server_comparison[io] = {
                "seconds": answer["seconds"],
                "requests": sample.requests,
                "sandbox_cpu": sample.sandbox_cpu,
                "client_cpu": answer["cpu_seconds"],
            }


def capacity_table(bench: Bench) -> Table | None:
    table = Table(
        "capacity",
        "Server capacity: how busy the sandbox was while each client ran",
        [
            "scenario",
            "client",
            "requests",
            "wall",
            "client CPU",
            "sandbox CPU",
            "sandbox share of a core",
            "sandbox CPU / request",
        ],
    )
    if not bench.samples:
        return None
    by_scenario: dict[str, list[Sample]] = {}
    for sample in bench.samples:
        by_scenario.setdefault(sample.scenario, []).append(sample)
    for scenario, samples in by_scenario.items():
        busiest = max(samples, key=lambda sample: sample.sandbox_share or 0.0)
        table.add(
            scenario,
            busiest.client,
            busiest.requests,
            seconds(busiest.wall),
            "-" if busiest.client_cpu is None else f"{busiest.client_cpu:.2f} s",
            f"{busiest.sandbox_cpu:.2f} s",
            percent(busiest.sandbox_share),
            f"{busiest.sandbox_cpu / busiest.requests * 1000:.2f} ms" if busiest.requests else "-",
        )
    zero = [s for s in bench.samples if " 0 ms" in s.scenario and s.client.startswith("ideal") and s.requests]
    if zero:
        best = max(zero, key=lambda sample: sample.requests / sample.wall)
        per_request = best.sandbox_cpu / best.requests
        table.notes.append(
            f"At 0 ms the ideal client got {best.requests / best.wall:.0f} requests/s ({best.scenario}, {best.client});"
            f" the sandbox spent {per_request * 1000:.2f} ms of CPU per request, so on its own it could answer about"
            f" {1 / per_request:.0f} requests/s on one core."
        )
    for io, found in bench.server_comparison.items():
        table.notes.append(
            f"The ideal client (a thread per request, 0 ms) against the {io} sandbox: {found['requests']} requests in"
            f" {seconds(found['seconds'])}, the sandbox using {found['sandbox_cpu']:.2f} s of CPU, the client"
            f" {found['client_cpu']:.2f} s"
            + (" (`serve --io threads`: a thread per connection)" if io == "threads" else " (what the scenarios use)")
            + "."
        )
    table.notes.append(
        "One row per scenario: its client that kept the sandbox busiest (the sandbox is one Python process, so a"
        " share near 100% would mean it was the bottleneck). Wall is the harness's, process start-up included."
    )
    return table


def machine() -> str:
    model = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    cores = os.cpu_count()
    known = sorted(concurrency_fields())
    from rotator import __version__
    from rotator.config import HttpSettings

    budget = "requests_per_minute" in HttpSettings.model_fields
    return (
        f"{cores} cores ({model}), Python {platform.python_version()}, {platform.system()} {platform.release()};"
        f" rotator {__version__}; its config knows http.requests_per_minute: {'yes' if budget else 'no'},"
        f" concurrency: {', '.join(known) if known else 'no'}"
    )


def now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


# ── where a rotation's CPU goes ─────────────────────────────────────────────────────────────────────────

PROFILE_SPOTS: tuple[tuple[str, str, str], ...] = (
    ("LangSmith requests sent (LangSmithClient._send)", "rotator/langsmith/client.py", "_send"),
    ("  of which httpx.Client.request", "httpx/_client.py", "request"),
    ("LangSmith answers parsed (parse_list: listings)", "rotator/langsmith/parsing.py", "parse_list"),
    ("LangSmith clients built (LangSmithClient.__init__)", "rotator/langsmith/client.py", "__init__"),
    ("Vault calls (VaultSession.run: hvac, requests)", "rotator/vault/session.py", "run"),
    ("proxy settings read from os.environ (getproxies_environment)", "urllib/request.py", "getproxies_environment"),
    ("journal loads and saves (JournalStore)", "rotator/state/journal.py", "load|save"),
)
"""Where a saga's CPU goes: (label, file, function names) whose cumulative time is shown. They overlap: the proxy
lookup happens inside both the Vault calls (requests, per call) and the LangSmith clients built (httpx, per client);
the journal's time is Vault calls too."""


_PROFILED = """
import cProfile, sys, time
output, sys.argv = sys.argv[1], ["rotator", *sys.argv[2:]]
profile = cProfile.Profile(time.thread_time)  # CPU of the main thread: time blocked on a socket is not counted
code = 0
try:
    from rotator.cli import main
    profile.enable()
    main()
except SystemExit as stop:
    code = stop.code if isinstance(stop.code, int) else 1
finally:
    profile.disable()
    profile.dump_stats(output)
sys.exit(code)
"""


def profile_tables(bench: Bench, keys: int = 100, orgs: int = 1) -> list[Table]:
    """`rotator once` rotating ``keys`` due keys under cProfile timed by the main thread's CPU clock (0 ms latency:
    CPU is the subject). It sees the main thread only, where the sagas run; the inventory's poll threads and the
    imports (done before profiling starts) are not in it."""
    import pstats

    vault = bench.vault
    run_id = uuid.uuid4().hex[:8]
    with sandbox_process() as sandbox:
        world = seed_rotation(sandbox, f"p{run_id}", orgs, keys, f"bench-{run_id}")
        for handle in world.managed:
            vault.store(handle.path, {"api_key": handle.secret, "key_id": handle.key_id})
        target = VaultTarget(vault.address, vault.token, f"bench-{run_id}/state", f"bench-{run_id}")
        config, environ, _ = bench.config(f"profile-{keys}", world, sandbox.api_url, vault=target)
        output = bench.workdir / "once.prof"
        bench.log(f"profile: rotator once of {keys} keys under cProfile")
        argv = [sys.executable, "-c", _PROFILED, str(output), "--config", str(config), "--log-format", "json", "once"]
        done = bench.run(argv, env=environ, timeout=3600)
        if done.code != 0:
            raise RuntimeError(f"rotator once under cProfile exited {done.code}: {done.stderr[-2000:]}")
    stats = pstats.Stats(str(output))
    entries: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in entries.values())

    def where(function: tuple[str, int, str]) -> str:
        filename, line, name = function
        return f"{name} ({filename}:{line})"

    def cumulative(name: str, filename_part: str) -> tuple[float, int]:
        for (filename, _, function), entry in entries.items():
            if function == name and filename_part in filename:
                return float(entry[3]), int(entry[1])
        return 0.0, 0

    saga, runs = cumulative("run", "rotator/rotation.py")
    parse_key, parse_key_calls = cumulative("parse_api_key", "rotator/langsmith/parsing.py")
    per_key_ms = saga / keys * 1000 if keys else 0.0
    summary = Table(
        "profile",
        f"Profile: `rotator once` rotating {keys} due keys of {orgs} admin key(s), 0 ms latency, under cProfile",
        ["where", "CPU (main thread)", "per rotation", "share of the sagas"],
    )
    summary.add("main thread, after the imports", seconds(total), seconds(total / keys), "")
    summary.add(f"RotationSaga.run ({runs} calls)", seconds(saga), f"{per_key_ms:.1f} ms", "100%")
    for label, filename_part, names in PROFILE_SPOTS:
        spent, calls = 0.0, 0
        for (filename, _, function), entry in entries.items():
            if function in names.split("|") and filename_part in filename:
                spent, calls = spent + float(entry[3]), calls + int(entry[1])
        summary.add(
            f"{label}, {calls} calls",
            seconds(spent),
            f"{spent / keys * 1000:.1f} ms",
            percent(spent / saga if saga else None),
        )
    logging = sum(
        entry[2]
        for (filename, _, _), entry in entries.items()
        if "/structlog/" in filename or "observability" in filename
    )
    summary.add(
        "logging (structlog, self time)",
        seconds(logging),
        f"{logging / keys * 1000:.1f} ms",
        percent(logging / saga if saga else None),
    )
    listed = keys // orgs + 1
    summary.notes += [
        f"parse_api_key ran {parse_key_calls} times ({parse_key_calls / keys:.0f} per rotation: listings of ~{listed}"
        f" keys), {seconds(parse_key)} in all (cumulative).",
        f"Wall {seconds(done.wall)}, CPU {done.cpu:.1f} s of the whole process (imports and cProfile's own overhead"
        " included: it roughly doubles pure-Python time). Times are the main thread's CPU (time.thread_time),"
        " cumulative (a function and all it calls), so the rows overlap; the inventory runs before the sagas and in"
        " other threads, and is left out.",
    ]
    top = Table(
        "profile-top",
        "Profile: the functions with the most self time",
        ["function", "calls", "self", "cumulative", "self per rotation"],
    )
    for function, entry in sorted(entries.items(), key=lambda item: -item[1][2])[:15]:
        top.add(
            where(function)[-90:], entry[1], seconds(entry[2]), seconds(entry[3]), f"{entry[2] / keys * 1000:.2f} ms"
        )
    return [summary, top]
