"""The package metadata keeps installing: an SPDX license string (the TOML-table form is deprecated, with a
removal deadline in setuptools) and a build backend with an upper bound. And what ships is the rotator alone: the
sandbox LangSmith server, the OpenBao launcher and the demo are dev tooling (langsmith_sandbox/, its own
distribution), never in the wheel or the image, and the product never imports them."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from packaging.requirements import Requirement

from rotator.cli import cli

REPO = Path(__file__).parent.parent
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
SANDBOX_PYPROJECT = tomllib.loads((REPO / "langsmith_sandbox" / "pyproject.toml").read_text())


def test_the_license_is_an_spdx_expression() -> None:
    assert PYPROJECT["project"]["license"] == "Apache-2.0"


def test_the_build_backend_is_bounded_and_new_enough_for_spdx_licenses() -> None:
    (requirement,) = (Requirement(r) for r in PYPROJECT["build-system"]["requires"])
    assert requirement.name == "setuptools"
    assert requirement.specifier.contains("77.0.0") and not requirement.specifier.contains("76.1.0")
    assert any(spec.operator == "<" for spec in requirement.specifier), "an upper bound"


@pytest.fixture(scope="module")
def wheel_files(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The names in the wheel pip builds from a copy of the whole tree (sandbox, tests and bench included, so a
    looser package search would pick them up); a copy, as a stale build/ in the work tree could hide that."""
    work = tmp_path_factory.mktemp("wheel")
    ignore = shutil.ignore_patterns(
        ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis", "test-output"
    )
    source = shutil.copytree(REPO, work / "source", ignore=ignore)
    command = [
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--quiet",
        "--no-deps",
        "--no-build-isolation",
        "--wheel-dir",
        str(work / "wheels"),
    ]
    built = subprocess.run([*command, str(source)], capture_output=True, text=True, timeout=110, check=False)
    assert built.returncode == 0, built.stderr
    (wheel,) = (work / "wheels").glob("langsmith_key_rotator-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        return archive.namelist()


def test_the_wheel_holds_the_rotator_and_nothing_else(wheel_files: list[str]) -> None:
    top_level = {name.split("/", 1)[0] for name in wheel_files}
    assert top_level == {"rotator", "langsmith_key_rotator-0.1.0.dist-info"}
    assert {"rotator/cli.py", "rotator/py.typed", "rotator/__main__.py"} <= set(wheel_files)


def test_the_wheel_holds_no_sandbox_and_no_demo(wheel_files: list[str]) -> None:
    dev_tooling = re.compile(r"(^|/)(langsmith_sandbox|sandbox|demo)(/|\.py$)|seeds/")
    assert [name for name in wheel_files if dev_tooling.search(name)] == []


def test_the_cli_has_no_demo_command() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    assert "check" in result.output
    assert "demo" not in result.output
    assert "demo" not in cli.commands


def test_the_product_never_imports_the_sandbox() -> None:
    importers = []
    for module in sorted((REPO / "rotator").rglob("*.py")):
        for node in ast.walk(ast.parse(module.read_text(), str(module))):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            if any(name.split(".")[0] == "langsmith_sandbox" for name in names):
                importers.append(str(module.relative_to(REPO)))
    assert importers == []


def test_the_image_copies_only_the_rotator() -> None:
    lines = (REPO / "Dockerfile").read_text().splitlines()
    copies = [line.split()[1:-1] for line in lines if line.startswith("COPY") and "--from=" not in line]
    expected = {"pyproject.toml", "README.md", "image/constraints.txt", "rotator"}  # constraints: the hashed lock
    assert {source for sources in copies for source in sources} == expected


LOCKS = (REPO / "image" / "constraints.txt", REPO / "image" / "dev-constraints.txt")


def _run_check(root: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(root / "image" / "constraints.py"), "--check"]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def _locked(path: Path) -> dict[str, tuple[str, int]]:
    """Each entry of a lock: name -> (the pinned version, how many sha256 it lists)."""
    entries: dict[str, tuple[str, int]] = {}
    for line in path.read_text().replace("\\\n", " ").splitlines():
        if line.strip() and not line.startswith("#") and not line.startswith(" "):
            requirement_text, *hashes = line.split("--hash=")
            requirement = Requirement(requirement_text)
            (pin,) = requirement.specifier
            assert pin.operator == "==", line
            assert all(digest.strip().startswith("sha256:") and len(digest.strip()) == 71 for digest in hashes), line
            entries[requirement.name] = (pin.version, len(hashes))
    return entries


def test_the_locks_are_up_to_date_with_pyproject_and_the_venv() -> None:
    checked = _run_check(REPO)
    assert checked.returncode == 0, checked.stderr


@pytest.mark.parametrize("lock", LOCKS, ids=lambda path: path.name)
def test_every_locked_distribution_is_pinned_and_hashed(lock: Path) -> None:
    entries = _locked(lock)
    assert entries, f"{lock.name} is empty"
    assert [name for name, (_, hashes) in entries.items() if hashes == 0] == []


def test_the_image_runs_the_versions_the_dev_venv_locks() -> None:
    image, dev = (_locked(lock) for lock in LOCKS)
    assert {"httpx", "pydantic", "setuptools"} <= image.keys()  # a runtime dependency, and the build backend
    assert {name: dev.get(name, ("missing", 0))[0] for name in image} == {name: v for name, (v, _) in image.items()}
    assert {"pytest", "bandit", "pip-audit", "pip"} <= dev.keys() and "pytest" not in image


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """The files the lock check reads, copied so a test may change pyproject.toml."""
    for relative in ("pyproject.toml", "langsmith_sandbox/pyproject.toml", "image/constraints.py", *map(str, LOCKS)):
        source = REPO / relative
        (tmp_path / source.relative_to(REPO)).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, tmp_path / source.relative_to(REPO))
    return tmp_path


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('"httpx>=0.27,<1",', '"httpx>=0.27,<1",\n  "not-a-locked-distribution>=1",', "not-a-locked-distribution"),
        ('"httpx>=0.27,<1",', '"httpx>=99",', "httpx>=99"),
        ('  "bcrypt>=4",', "", "dev-constraints.txt is out of date with pyproject.toml and the venv (-bcrypt=="),
    ],
    ids=["a new dependency", "a raised lower bound", "a dropped dev dependency"],
)
def test_the_lock_check_fails_when_pyproject_changes(project_copy: Path, old: str, new: str, message: str) -> None:
    pyproject = project_copy / "pyproject.toml"
    assert old in pyproject.read_text()
    pyproject.write_text(pyproject.read_text().replace(old, new, 1))
    checked = _run_check(project_copy)
    assert checked.returncode == 1
    assert message in checked.stderr and "make lock" in checked.stderr


def test_the_venv_and_the_image_install_the_locks_with_hashes() -> None:
    makefile = (REPO / "Makefile").read_text()
    assert "pip install --quiet --require-hashes --requirement image/dev-constraints.txt" in makefile
    assert "pip install --quiet --no-deps --no-build-isolation -e . -e ./langsmith_sandbox" in makefile
    dockerfile = (REPO / "Dockerfile").read_text()
    assert "--require-hashes --only-binary=:all: --requirement constraints.txt" in dockerfile
    assert "--constraint" not in dockerfile


def test_the_sandbox_distribution_lists_every_package_of_its_folder() -> None:
    """Its packages are listed by hand (the folder is the package): a new subpackage must be listed to ship."""
    folder = REPO / "langsmith_sandbox"

    def build_output(part: str) -> bool:
        return part.startswith((".", "__")) or part in {"build", "dist"} or part.endswith(".egg-info")

    on_disk = {"langsmith_sandbox"} | {
        ".".join(("langsmith_sandbox", *path.relative_to(folder).parts))
        for path in folder.rglob("*")
        if path.is_dir() and not any(build_output(part) for part in path.relative_to(folder).parts)
    }
    setuptools = SANDBOX_PYPROJECT["tool"]["setuptools"]
    assert setuptools["package-dir"] == {"langsmith_sandbox": "."}
    assert set(setuptools["packages"]) == on_disk
    assert setuptools["package-data"]["langsmith_sandbox.seeds"] == ["*.yaml"]
    assert SANDBOX_PYPROJECT["project"]["name"] == "langsmith-sandbox"
