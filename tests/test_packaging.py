"""The package metadata keeps installing: an SPDX license string (the TOML-table form is deprecated, with a
removal deadline in setuptools) and a build backend with an upper bound."""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement

PYPROJECT = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())


def test_the_license_is_an_spdx_expression() -> None:
    assert PYPROJECT["project"]["license"] == "Apache-2.0"


def test_the_build_backend_is_bounded_and_new_enough_for_spdx_licenses() -> None:
    (requirement,) = (Requirement(r) for r in PYPROJECT["build-system"]["requires"])
    assert requirement.name == "setuptools"
    assert requirement.specifier.contains("77.0.0") and not requirement.specifier.contains("76.1.0")
    assert any(spec.operator == "<" for spec in requirement.specifier), "an upper bound"
