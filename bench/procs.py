"""Processes under measurement: run one to completion and read its wall time, CPU time and peak RSS from the
kernel (``wait4``), or keep one running and read its memory from /proc."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Run:
    code: int
    wall: float
    cpu: float
    """User plus system seconds of the process (and any children it waited for)."""
    max_rss_kb: int
    """Peak resident set (VmHWM) of the process, in KiB."""
    stdout: str
    stderr: str
    timed_out: bool = False

    @property
    def max_rss_mb(self) -> float:
        return self.max_rss_kb / 1024


_LAUNCHER = r"""
import json, os, sys, time
result, argv = sys.argv[1], sys.argv[2:]
started = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(argv[0], argv)
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - started
code = os.waitstatus_to_exitcode(status)
with open(result, "w") as out:
    json.dump({"wall": wall, "code": code, "cpu": usage.ru_utime + usage.ru_stime, "maxrss": usage.ru_maxrss}, out)
sys.exit(code if code >= 0 else 128 - code)
"""
"""Runs the command as its own child and reports what ``wait4`` says of it. Linux carries a process's peak RSS
across exec, and a child forked from the bench (which holds whole seeds) would start out at the bench's size; a
bare interpreter (``-S``, ~8 MB) in between keeps that out of the number."""


def run(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    timeout: float,
    stdin: str | None = None,
    cwd: Path | None = None,
) -> Run:
    """Run ``argv`` to completion; killed after ``timeout`` seconds (``timed_out`` then says so). ``cwd``: run it
    elsewhere than in the repository, whose rotator/ would otherwise come first on ``python -c``'s path."""
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.TemporaryFile() as given,
        tempfile.NamedTemporaryFile("r", suffix=".json") as result,
    ):
        if stdin is not None:
            given.write(stdin.encode())
            given.seek(0)
        command = [sys.executable, "-S", "-c", _LAUNCHER, result.name, *argv]
        process = subprocess.Popen(
            command, stdout=out, stderr=err, stdin=given, env=dict(env), cwd=cwd, start_new_session=True
        )
        killed = threading.Event()

        def kill() -> None:
            killed.set()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # the launcher's own session: it and the command

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            process.wait()
        except BaseException:  # the bench itself is stopping: take the command down with it
            kill()
            process.wait()
            raise
        finally:
            timer.cancel()
        out.seek(0)
        err.seek(0)
        text = result.read()
        measured = json.loads(text) if text else {"wall": 0.0, "code": process.returncode, "cpu": 0.0, "maxrss": 0}
        return Run(
            code=int(measured["code"]),
            wall=float(measured["wall"]),
            cpu=float(measured["cpu"]),
            max_rss_kb=int(measured["maxrss"]),
            stdout=out.read().decode("utf-8", "replace"),
            stderr=err.read().decode("utf-8", "replace"),
            timed_out=killed.is_set(),
        )


def worker(
    task: str, spec: Mapping[str, Any], *, env: Mapping[str, str], timeout: float, cwd: Path | None = None
) -> dict[str, Any]:
    """Run ``python -m bench.worker`` on one task in a fresh process; its JSON answer, with the process's own
    wall, CPU and peak RSS added under ``process``."""
    argv = [sys.executable, "-m", "bench.worker", task]
    done = run(argv, env=env, timeout=timeout, stdin=json.dumps(spec), cwd=cwd)
    if done.code != 0 or done.timed_out:
        raise RuntimeError(f"bench worker {task} failed ({done.code}): {done.stderr[-3000:]}")
    answer: dict[str, Any] = json.loads(done.stdout)
    answer["process"] = {"wall": done.wall, "cpu": done.cpu, "max_rss_kb": done.max_rss_kb}
    return answer


def memory_kb(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (and the rest of /proc/PID/status's Vm lines) of a live process, in KiB."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name.startswith("Vm") and value.strip().endswith("kB"):
            found[name] = int(value.split()[0])
    return found


def count_lines(path: Path, needle: str) -> int:
    if not path.exists():
        return 0
    with path.open("rb") as log:
        return sum(1 for line in log if needle.encode() in line)
