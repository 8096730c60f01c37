"""`make image-test`: build the Dockerfile for real and run the rotator inside the image.

No Docker engine is needed: Debian's buildah builds the Dockerfile (chroot isolation, vfs storage in a temporary
directory removed at the end) on a local base made by image/base.sh (debootstrap minbase bookworm + python3 +
python3-venv, cached under /var/cache/rotator-image/). First the locks must be up to date with pyproject.toml and
the venv (image/constraints.py --check) and hadolint must pass; the build stage downloads the image's distributions
with pip's --require-hashes. Then, inside the image:

- the image config: user 65532:65532, entrypoint `rotator`, port 9464 exposed, the OCI labels;
- `id -u` is 65532 without `--user` (the image's USER), and `rotator --version` answers;
- no compiler or build tool (gcc, cc, c++, make, ld), no pip or setuptools, no langsmith_sandbox, tests or bench;
- `rotator check` against the sandbox LangSmith server, and `rotator once` against it and an OpenBao dev server,
  both started on the host on 127.0.0.1 (chroot isolation shares the host's network); once's first adoption
  writes a new key to Vault, which is read back from the host;
- `rotator check` and `rotator once` again with the root filesystem mounted read-only and a tmpfs on /tmp (the
  image's own environment, uid 65532, in a private mount namespace), so nothing needs writing outside /tmp.

Run as root (buildah, mounts). Exits 0, or 1 with one line saying what failed.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
IMAGE = "localhost/langsmith-key-rotator:test"
BASE_IMAGE = "localhost/bookworm-python:latest"
USER = "65532:65532"
PORT = "9464/tcp"
VERSION = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
MANAGED = "prod-tracing"
MANAGED_PATH = "langsmith/prod-tracing"


class Failure(Exception):
    """One check failed; the message is the line printed."""


def run(
    argv: Sequence[str], what: str, *, ok: Sequence[int] = (0,), timeout: float = 300, log: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``argv``; unless its exit code is in ``ok``, fail naming ``what`` and the last line it printed."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise Failure(f"{what}: no answer within {timeout:.0f}s") from exc
    except FileNotFoundError as exc:
        raise Failure(f"{what}: {argv[0]} not found") from exc
    if log is not None:
        log.write_text(done.stdout + done.stderr)
    if done.returncode not in ok:
        lines = (done.stderr.strip() or done.stdout.strip() or "no output").splitlines()
        where = f" (full output in {log})" if log is not None else ""
        raise Failure(f"{what}: exit {done.returncode}, expected {'/'.join(map(str, ok))}: {lines[-1]}{where}")
    return done


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise Failure(message)


class Buildah:
    """buildah on a storage of its own (vfs, in ``root``), so nothing is shared with other users of buildah."""

    def __init__(self, root: Path) -> None:
        self.argv = ["buildah", "--root", str(root / "storage"), "--runroot", str(root / "run"), "--storage-driver"]
        self.argv.append("vfs")

    def __call__(self, *args: str, what: str, ok: Sequence[int] = (0,), log: Path | None = None) -> str:
        return run([*self.argv, *args], what, ok=ok, log=log).stdout.strip()

    def inside(
        self, container: str, *argv: str, what: str, ok: Sequence[int] = (0,), user: str | None = USER, **kw: Any
    ) -> subprocess.CompletedProcess[str]:
        env = [f"--env={name}={value}" for name, value in kw.get("env", {}).items()]
        volumes = [f"--volume={spec}" for spec in kw.get("volumes", [])]
        user_flag = [f"--user={user}"] if user else []
        command = [*self.argv, "run", "--isolation", "chroot", *user_flag, *env, *volumes, container, "--", *argv]
        return run(command, what, ok=ok, timeout=120)


def preflight() -> None:
    expect(os.geteuid() == 0, "image-test must run as root (buildah, debootstrap, mounts)")
    for tool in ("buildah", "debootstrap", "unshare", "chroot"):
        expect(shutil.which(tool) is not None, f"{tool} not found: apt-get install buildah debootstrap")
    locks = "the locks (image/constraints.txt, image/dev-constraints.txt)"
    run([sys.executable, str(REPO / "image" / "constraints.py"), "--check"], locks)
    run([str(BIN / "hadolint"), str(REPO / "Dockerfile")], "hadolint Dockerfile")


def ca_bundle() -> str | None:
    """The CA bundle this host trusts, handed to pip in the build stage (a secret, never in the image)."""
    for candidate in (os.environ.get("PIP_CERT"), ssl.get_default_verify_paths().cafile):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


def build(buildah: Buildah, work: Path) -> dict[str, float]:
    timings: dict[str, float] = {}
    started = time.monotonic()
    tarball = run([str(REPO / "image" / "base.sh")], "image/base.sh", timeout=600).stdout.strip().splitlines()[-1]
    timings["base"] = time.monotonic() - started

    started = time.monotonic()
    scratch = buildah("from", "scratch", what="buildah from scratch")
    buildah("add", "--quiet", scratch, tarball, "/", what="buildah add (the base tarball)")
    buildah("config", "--cmd", "/bin/sh", scratch, what="buildah config")
    buildah("commit", "--quiet", "--rm", scratch, BASE_IMAGE, what="buildah commit (the base)")
    timings["import"] = time.monotonic() - started

    started = time.monotonic()
    revision = run(["git", "-C", str(REPO), "rev-parse", "HEAD"], "git rev-parse", ok=(0, 128)).stdout.strip()
    secret = [f"--secret=id=pip-ca,src={bundle}"] if (bundle := ca_bundle()) else []
    args = ["--isolation", "chroot", "--pull-never", "--layers=false", f"--build-arg=BASE={BASE_IMAGE}"]
    args += [f"--build-arg=VERSION={VERSION}", f"--build-arg=REVISION={revision or 'unknown'}", *secret]
    buildah("bud", *args, "--tag", IMAGE, str(REPO), what="buildah bud", log=Path("/var/tmp/rotator-image-build.log"))
    timings["build"] = time.monotonic() - started
    return timings


def check_config(buildah: Buildah) -> list[str]:
    inspected = json.loads(buildah("inspect", "--type", "image", IMAGE, what="buildah inspect"))
    config = inspected["OCIv1"]["config"]
    expect(config.get("User") == USER, f"image user is {config.get('User')!r}, not {USER}")
    expect(config.get("Entrypoint") == ["rotator"], f"entrypoint is {config.get('Entrypoint')!r}, not rotator")
    expect(PORT in config.get("ExposedPorts", {}), f"the image does not expose {PORT}")
    labels = config.get("Labels") or {}
    for label in ("title", "description", "licenses", "version", "revision", "base.name"):
        expect(f"org.opencontainers.image.{label}" in labels, f"label org.opencontainers.image.{label} is missing")
    expect(labels["org.opencontainers.image.version"] == VERSION, "label org.opencontainers.image.version is wrong")
    env: list[str] = config.get("Env") or []
    expect("PYTHONDONTWRITEBYTECODE=1" in env and "HOME=/tmp" in env, f"env lacks PYTHONDONTWRITEBYTECODE/HOME: {env}")
    return env


def check_contents(buildah: Buildah, container: str) -> None:
    uid = buildah.inside(container, "id", "-u", what="id -u (the image's USER)", user=None).stdout.strip()
    expect(uid == "65532", f"the image runs as uid {uid}, not 65532")
    version = buildah.inside(container, "rotator", "--version", what="rotator --version").stdout.strip()
    expect(version == f"rotator, version {VERSION}", f"rotator --version printed {version!r}")
    probe = "for t in gcc cc c++ g++ clang make ld as; do command -v $t; done; true"
    found = buildah.inside(container, "sh", "-c", probe, what="looking for a compiler").stdout.split()
    expect(not found, f"the image holds build tools: {' '.join(found)}")
    modules = "import importlib.util as u; print(*[m for m in sys.argv[1:] if u.find_spec(m)])"
    present = buildah.inside(
        container,
        "python",
        "-c",
        f"import sys; {modules}",
        "langsmith_sandbox",
        "tests",
        "bench",
        "pip",
        "setuptools",
        "rotator",
        what="looking for dev packages",
    ).stdout.split()
    expect(present == ["rotator"], f"the image's Python imports {present}, expected only rotator of those")
    names = r"-name 'langsmith_sandbox*' -o -name 'langsmith-sandbox*' -o -path '*/rotator/tests'"
    search = rf"find / -xdev -path /proc -prune -o \( {names} \)"
    searched = buildah.inside(container, "sh", "-c", search + " -print", what="searching the image", user="0:0")
    stray = searched.stdout.split()
    expect(not stray, f"the image holds dev tooling: {' '.join(stray)}")


@contextmanager
def sandbox(work: Path) -> Iterator[dict[str, str]]:
    """`python -m langsmith_sandbox serve --seed demo` on 127.0.0.1; yields the LANGSMITH_* it writes."""
    env_file = work / "sandbox.env"
    command = [sys.executable, "-m", "langsmith_sandbox", "serve", "--seed", "demo", "--env-file", str(env_file)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while not env_file.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                raise Failure(
                    f"the sandbox LangSmith server did not start: {process.stderr.read() if process.stderr else ''}"
                )
            time.sleep(0.05)
        yield dict(line.split("=", 1) for line in env_file.read_text().splitlines() if "=" in line)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def write_config(folder: Path, langsmith: dict[str, str], vault_address: str) -> None:
    folder.mkdir()
    org = {"name": "acme", "endpoint": langsmith["LANGSMITH_ENDPOINT"]}
    org["organization_id"] = langsmith["LANGSMITH_ORGANIZATION_ID"]
    config = {
        "orgs": [org],
        "vault": {"address": vault_address, "auth": {"method": "token", "token": {"env": "VAULT_TOKEN"}}},
        "managed": [{"name": MANAGED, "org": "acme", "path": MANAGED_PATH, "adopt": {"description": MANAGED}}],
    }
    (folder / "rotator.yaml").write_text(json.dumps(config))  # JSON is YAML
    folder.chmod(0o755)
    (folder / "rotator.yaml").chmod(0o644)


def read_only_root(mountpoint: str, config: Path, env: list[str], argv: Sequence[str], ok: Sequence[int]) -> str:
    """Run ``argv`` in the image's root filesystem mounted read-only, a tmpfs on /tmp, ``config`` at
    /tmp/config, as 65532 with the image's environment; in a private mount namespace, gone when it exits."""
    root = shlex.quote(mountpoint)
    script = " && ".join(
        [
            f"mount --bind {root} {root}",
            f"mount -o remount,bind,ro {root}",
            f"mount -t tmpfs -o mode=1777 tmpfs {root}/tmp",
            f"mkdir {root}/tmp/config",
            f"mount --bind -o ro {shlex.quote(str(config))} {root}/tmp/config",
            f"mount -t proc proc {root}/proc",
            f"mount --bind /dev {root}/dev",
            f'exec chroot --userspec={USER} {root} /usr/bin/env -i "$@"',
        ]
    )
    command = ["unshare", "--mount", "--fork", "sh", "-c", script, "sh", *env, *argv]
    return run(command, f"{argv[0]} {' '.join(argv[1:3])} on a read-only root", ok=ok, timeout=120).stdout


def check_against_servers(buildah: Buildah, container: str, work: Path, image_env: list[str]) -> None:
    from langsmith_sandbox.openbao import OpenBaoDevServer

    with sandbox(work) as langsmith, OpenBaoDevServer() as bao:
        expect(langsmith["LANGSMITH_ENDPOINT"].startswith("http://127.0.0.1:"), "the sandbox is not on 127.0.0.1")
        env = {name: langsmith[name] for name in ("LANGSMITH_API_KEY", "LANGSMITH_ENDPOINT")}
        checked = buildah.inside(
            container, "rotator", "check", "--output", "json", what="rotator check", ok=(2,), env=env
        )
        report = json.loads(checked.stdout)
        expect(report["exit_code"] == 2 and len(report["keys"]) >= 8, f"rotator check reported {report}")
        expect(not report["failed_orgs"], f"rotator check could not poll: {report['failed_orgs']}")

        config = work / "config"
        write_config(config, langsmith, bao.address)
        secrets = {"LANGSMITH_API_KEY": langsmith["LANGSMITH_API_KEY"], "VAULT_TOKEN": bao.root_token}
        once = ["rotator", "--config", "/config/rotator.yaml", "once"]
        buildah.inside(container, *once, what="rotator once", env=secrets, volumes=[f"{config}:/config:ro"])
        stored = bao.root_client().secrets.kv.v2.read_secret_version(path=MANAGED_PATH, raise_on_deleted_version=True)
        data = stored["data"]["data"]
        expect(str(data.get("api_key", "")).startswith("lsv2_"), f"rotator once stored no key: {sorted(data)}")

        mountpoint = buildah("mount", container, what="buildah mount")
        try:
            environment = [*image_env, *(f"{name}={value}" for name, value in secrets.items())]
            environment.append(f"LANGSMITH_ENDPOINT={langsmith['LANGSMITH_ENDPOINT']}")
            out = read_only_root(mountpoint, config, environment, ["rotator", "check", "--output", "json"], (2,))
            expect(json.loads(out)["exit_code"] == 2, "rotator check on a read-only root reported otherwise")
            read_only_root(
                mountpoint, config, environment, ["rotator", "--config", "/tmp/config/rotator.yaml", "once"], (0,)
            )
        finally:
            buildah("umount", container, what="buildah umount")


def main() -> int:
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="rotator-image-", dir="/var/tmp"))
    buildah = Buildah(work)
    try:
        preflight()
        timings = build(buildah, work)
        image_env = check_config(buildah)
        container = buildah("from", "--pull-never", IMAGE, what="buildah from")
        check_contents(buildah, container)
        check_against_servers(buildah, container, work, image_env)
    except Failure as failure:
        print(f"image-test: FAILED: {failure}", file=sys.stderr)
        return 1
    finally:
        subprocess.run([*buildah.argv, "rm", "--all"], capture_output=True, check=False)
        shutil.rmtree(work, ignore_errors=True)
    spent = ", ".join(f"{name} {seconds:.0f}s" for name, seconds in timings.items())
    print(
        f"image-test: ok in {time.monotonic() - started:.0f}s ({spent}): {IMAGE} runs check and once as 65532, "
        "read-only root works, no compiler, no sandbox"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
