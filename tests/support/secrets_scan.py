"""Secret scanning for test output: what the suite captured must hold no key, token or webhook secret.

Also a pytest plugin (registered in tests/conftest.py): any test whose captured stdout, stderr or log output holds a
secret-shaped string fails, so every test doubles as a leak check for invariant I5.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

import pytest

# Full-shaped secrets, never a short_key display prefix (a handful of characters).
SECRET_SHAPES = re.compile(
    r"lsv2_(?:sk|pt)_[0-9a-f]{32}_[0-9a-f]{10}"  # LangSmith keys, as the sandbox and LangSmith issue them
    r"|\bhv[sbr]\.[A-Za-z0-9_-]{24,}"  # Vault / OpenBao tokens
    r"|hooks\.slack\.com/services/[A-Za-z0-9/]+"  # Slack webhook secrets
)


def find_secrets(text: str, known: Iterable[str] = ()) -> list[str]:
    """Secret-shaped strings in ``text``, plus any of the ``known`` secrets, whatever their shape."""
    found = SECRET_SHAPES.findall(text)
    return found + [secret for secret in known if secret and secret in text]


def assert_no_secrets(text: str, known: Iterable[str] = ()) -> None:
    leaks = find_secrets(text, known)
    # Report only a prefix: the assertion message itself is captured output.
    assert not leaks, f"secret(s) leaked into output: {[leak[:12] + '...' for leak in leaks]}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report: pytest.TestReport = yield  # type: ignore[assignment]  # a wrapper receives the hook's result
    # Sections accumulate over setup, call and teardown: scan only this phase's, so a leak fails once.
    phase = "\n".join(content for name, content in report.sections if name.endswith(f" {report.when}"))
    leaks = find_secrets(phase)
    if leaks and report.passed:
        report.outcome = "failed"
        report.longrepr = f"secret(s) leaked into captured output: {[leak[:12] + '...' for leak in leaks]}"
    return report  # type: ignore[return-value]
