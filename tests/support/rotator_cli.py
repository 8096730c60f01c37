"""The rotator's command line as a real process: its config file, its environment, and runs whose output is
checked for leaked secrets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.support import leak_scan
from tests.support.secrets_scan import assert_no_secrets


def write_config(directory: Path, config: dict[str, Any]) -> Path:
    """``config`` as ``rotator.yaml`` in ``directory``."""
    path = directory / "rotator.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    leak_scan.note_config(config)
    return path


def host_environ() -> dict[str, str]:
    """This process's environment, less what would configure the rotator behind the config file's back."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "LANGSMITH_", "ROTATOR_"))}


def rotator_command(config: Path, *args: str) -> list[str]:
    """``python -m rotator --config FILE --log-format json ARGS``."""
    return [sys.executable, "-m", "rotator", "--config", str(config), "--log-format", "json", *args]


@dataclass(frozen=True)
class CliRun:
    code: int
    stdout: str
    stderr: str


def run_rotator(
    config: Path,
    *args: str,
    env: dict[str, str],
    timeout: float,
    known: Callable[[], Iterable[str]],
    stdin: str | None = None,
    prefix: Sequence[str] = (),
) -> CliRun:
    """Run the rotator to completion; its output must hold no secret, ``known()`` among them (called after the run,
    so that it can name what the run stored). ``prefix`` is a command that runs it, such as ``setpriv ...``."""
    done = subprocess.run(
        [*prefix, *rotator_command(config, *args)],
        env={**env, "COLUMNS": "200"},  # one outcome per line, however long the message
        capture_output=True,
        text=True,
        input=stdin,
        timeout=timeout,
        check=False,
    )
    assert_no_secrets(done.stdout + done.stderr, known=known())
    return CliRun(done.returncode, done.stdout, done.stderr)


def stderr_problems(stderr: str) -> list[str]:
    """The lines of stderr that are not log events (JSON, since stderr is not a terminal in these runs)."""
    lines = []
    for line in stderr.splitlines():
        try:
            json.loads(line)
        except json.JSONDecodeError:
            lines.append(line)
    return lines


def rotator(*args: str, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    """Run the real CLI; its output is echoed so the suite-wide secret scan sees it too."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("LANGSMITH_", "ROTATOR_"))}
    result = subprocess.run(
        [sys.executable, "-m", "rotator", "--log-format", "json", *args],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    print(result.stdout)
    print(result.stderr, file=sys.stderr)
    assert "Traceback" not in result.stderr
    return result
