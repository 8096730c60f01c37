"""``python -m langsmith_sandbox serve``: serve until SIGTERM or SIGINT, exporting the admin credentials.
``python -m langsmith_sandbox demo``: the rotator's demo against this sandbox and an OpenBao dev server."""

from __future__ import annotations

import argparse
import os
import signal
import tempfile
import threading
from datetime import datetime
from pathlib import Path

from langsmith_sandbox.aio_server import AsyncioSandboxServer
from langsmith_sandbox.clock import SandboxClock
from langsmith_sandbox.rate_limit import RateLimitSettings
from langsmith_sandbox.seed import DEMO_SEED, SeedError, SeedResult, load_seed_file
from langsmith_sandbox.server import SandboxServer, is_loopback
from langsmith_sandbox.state import SandboxState


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m langsmith_sandbox", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the sandbox LangSmith API on loopback")
    serve.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=0, help="port; 0 picks a free one (default)")
    serve.add_argument("--seed", help="'demo' or a path to a YAML seed")
    serve.add_argument("--now", help="freeze the sandbox clock at this ISO 8601 time (with a timezone)")
    serve.add_argument("--env-file", type=Path, help="write LANGSMITH_* variables here instead of stdout")
    serve.add_argument(
        "--io",
        choices=("threads", "asyncio"),
        default="threads",
        help="a thread per connection (default), or one event loop for many connections at once (benchmarks)",
    )
    serve.add_argument(
        "--rate-limit",
        type=int,
        metavar="RPM",
        help="refuse each API key's requests beyond RPM in any minute with 429 and Retry-After (default: no limit)",
    )
    commands.add_parser(
        "demo", help="start this sandbox and an OpenBao dev server, and run a check and a rotation on them"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "demo":
        from langsmith_sandbox.demo import main as demo  # imports the whole rotator, which serve does without

        return demo()
    if not is_loopback(args.host):
        parser.error(f"--host must be a loopback address, not {args.host!r}")
    clock = SandboxClock()
    if args.now is not None:
        try:
            clock.set(datetime.fromisoformat(args.now))
        except ValueError as exc:
            parser.error(f"--now: {exc}")
    state = SandboxState(clock)
    if args.rate_limit is not None:
        try:
            state.rate_limit.configure(RateLimitSettings(args.rate_limit))
        except ValueError as exc:
            parser.error(f"--rate-limit: {exc}")
    seeded = SeedResult()
    if args.seed is not None:
        try:
            seeded = load_seed_file(state, DEMO_SEED if args.seed == "demo" else args.seed)
        except SeedError as exc:
            parser.error(f"--seed: {exc}")
    server: SandboxServer | AsyncioSandboxServer = (AsyncioSandboxServer if args.io == "asyncio" else SandboxServer)(
        state, args.host, args.port
    )
    try:
        server.start()
    except OSError as exc:
        parser.error(f"cannot listen on {args.host}:{args.port}: {exc.strerror}")
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    try:
        _announce(server, seeded, args.env_file)
        stop.wait()
    finally:
        server.stop()
        if args.env_file is not None:
            args.env_file.unlink(missing_ok=True)  # it holds a key: gone with the server it opens
    return 0


def _announce(server: SandboxServer | AsyncioSandboxServer, seeded: SeedResult, env_file: Path | None) -> None:
    lines = _env_lines(server, seeded)
    if env_file is None:
        print(*lines, sep="\n", flush=True)
    else:
        _write_private(env_file, lines)
        print(f"sandbox listening on {server.url}; credentials in {env_file}", flush=True)


def _env_lines(server: SandboxServer | AsyncioSandboxServer, seeded: SeedResult) -> list[str]:
    """The endpoint, plus the first key the seed reveals (the admin key in demo.yaml) and its org."""
    lines = [f"LANGSMITH_ENDPOINT={server.url}"]
    admin = next(iter(seeded.revealed.values()), None)
    if admin is not None:
        lines += [f"LANGSMITH_API_KEY={admin.secret}", f"LANGSMITH_ORGANIZATION_ID={admin.organization_id}"]
    return lines


def _write_private(path: Path, lines: list[str]) -> None:
    """Write atomically with mode 0600, so a reader never sees half a file and others never see the key."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(handle, "w") as out:
        out.write("\n".join(lines) + "\n")
    os.replace(temporary, path)
