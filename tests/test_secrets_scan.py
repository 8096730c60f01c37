"""The suite-wide leak check must itself be able to fail."""

from pathlib import Path

import pytest

from tests.support.secrets_scan import assert_no_secrets, find_secrets

LEAKY_TEST = """
import logging, sys
def test_leaks():
    print("token", "lsv2_sk_" + "ab" * 16 + "_" + "c" * 10)
def test_leaks_on_stderr():
    print("hvs." + "A" * 30, file=sys.stderr)
def test_leaks_through_logging():
    logging.getLogger("x").warning("hooks.slack.com/services/T0/B0/abc")
def test_clean():
    print("short_key lsv2_sk_ab12... and hvs.*** are fine")
"""


def test_a_test_printing_a_secret_fails(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    pytester.makepyfile(test_leaky=LEAKY_TEST)
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).parent.parent))
    # --show-capture=no: the inner run must not echo the leaked strings into this test's own output.
    result = pytester.runpytest_subprocess("-p", "tests.support.secrets_scan", "-q", "--show-capture=no")
    result.assert_outcomes(passed=1, failed=3)
    result.stdout.fnmatch_lines(["*secret(s) leaked into captured output*"])


def test_known_secrets_of_any_shape_are_found() -> None:
    assert find_secrets("value=hunter2 here", known=["hunter2"]) == ["hunter2"]
    with pytest.raises(AssertionError, match="leaked"):
        assert_no_secrets("x lsv2_pt_" + "0" * 32 + "_" + "1" * 10)
