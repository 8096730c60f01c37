"""`rotator run` that cannot listen says why in one line on stderr and exits 5 (could not run), having done
nothing: no cycle ran against LangSmith, and no lease was taken in Vault. An address that cannot be a port at
all is a usage or config error (exit 3), refused before anything starts."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from rotator.domain.exit_codes import ExitCode
from tests.support import rotator_cli
from tests.support.daemon_world import World


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A loopback port another process already listens on."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port: int = taken.getsockname()[1]
        yield port


def run(world: World, config: Path, *args: str) -> rotator_cli.CliRun:
    return rotator_cli.run_rotator(config, "run", *args, env=world.environ(), timeout=30, known=world.secrets)


def assert_did_nothing(world: World, done: rotator_cli.CliRun) -> None:
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
    assert world.state.stats.total == 0, "no cycle polled LangSmith"
    assert world.kv.read(world.lease_path) is None, "no lease was taken"


def test_a_port_in_use_is_one_line_and_exit_5(world: World, tmp_path: Path, taken_port: int) -> None:
    config = world.config_file(tmp_path, world.managed_key())

    done = run(world, config, "--listen", f"127.0.0.1:{taken_port}")

    assert done.code == 5
    assert done.stderr.splitlines() == [f"rotator run: cannot listen on 127.0.0.1:{taken_port}: address already in use"]
    assert_did_nothing(world, done)


def test_a_port_in_use_from_the_config_is_reported_the_same(world: World, tmp_path: Path, taken_port: int) -> None:
    config = world.config_file(tmp_path, world.managed_key(), daemon={"listen": f"127.0.0.1:{taken_port}"})

    done = run(world, config)

    assert done.code == 5
    assert done.stderr.splitlines() == [f"rotator run: cannot listen on 127.0.0.1:{taken_port}: address already in use"]
    assert_did_nothing(world, done)


def test_an_address_not_on_this_host_is_one_line_and_exit_5(world: World, tmp_path: Path) -> None:
    config = world.config_file(tmp_path, world.managed_key())

    done = run(world, config, "--listen", "192.0.2.1:9464")  # TEST-NET-1: never a local address

    assert done.code == 5
    expected = "rotator run: cannot listen on 192.0.2.1:9464: address not available on this host"
    assert done.stderr.splitlines() == [expected]
    assert_did_nothing(world, done)


def test_a_port_out_of_range_on_the_command_line_is_a_usage_error(world: World, tmp_path: Path) -> None:
    config = world.config_file(tmp_path, world.managed_key())

    done = run(world, config, "--listen", "127.0.0.1:99999")

    assert done.code == ExitCode.UNKNOWN
    assert "--listen" in done.stderr and "99999 is out of range" in done.stderr
    assert_did_nothing(world, done)


def test_a_port_out_of_range_in_the_config_is_a_config_error(world: World, tmp_path: Path) -> None:
    config = world.config_file(tmp_path, world.managed_key(), daemon={"listen": "127.0.0.1:99999"})

    done = run(world, config)

    assert done.code == ExitCode.UNKNOWN
    assert done.stderr.splitlines() == ["config error: daemon.listen: port 99999 is out of range (at most 65535)"]
    assert_did_nothing(world, done)
