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
    expected = {"pyproject.toml", "README.md", "image/constraints.txt", "rotator"}  # constraints: the pins
    assert {source for sources in copies for source in sources} == expected


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
