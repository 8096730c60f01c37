"""The suite-wide leak scan (invariant I5): every secret the run made, looked for in everything the rotator wrote
that a test saw.

A pytest plugin (registered in tests/conftest.py). It keeps

- a registry of the run's secrets, filled without the product's help: every key the sandbox issues
  (``SandboxState.add_service_key`` and ``add_pat`` are wrapped for the session, so keys the rotator creates
  over the API count too), every OpenBao dev server's root token and the tokens and AppRole secret ids its
  helpers mint, and the test modules' secret constants (HMAC secrets, routing keys, passwords, bearer tokens:
  module-level names saying HMAC, SECRET, PASSWORD, BEARER, TOKEN, ROUTING_KEY or API_KEY);
- the texts the rotator wrote during each test: the output of every ``rotator`` process (``Popen.communicate``
  is wrapped, and files a ``rotator`` process writes its output to are read at teardown), the daemon's HTTP
  answers, every request the loopback receivers and the flaky proxy got, the alerts a real Alertmanager holds
  when a test asks, every metrics exposition the tests parse (Pushgateway reads included), Prometheus answers,
  the log events of the ``logs`` fixture, pytest's captured output, and, at the end of each test that used the
  session's OpenBao, every version still kept of every state document the test wrote (journal, lease, alert
  delivery state: where rotator/state/layout.py puts them under a state prefix).

At the end of each test its texts are searched for every registered secret (an exact substring, whatever its
shape) and for secret-shaped strings (tests/support/secrets_scan.py); a hit fails the test's teardown, naming
the source and only a prefix of the secret. Texts collected outside any test are checked when the session
ends. The terminal summary says how many secrets were known and how much was scanned.

By design, and so not scanned for what it must carry: a receiver's request path (the sink URL, a Slack or
webhook secret path), its ``Authorization`` header (bearer token or basic auth), PagerDuty's top-level
``routing_key`` field; the managed secret paths in Vault (they hold the key: that is the product's job), and the
admin keys the shipped policy keeps beside the state documents (``<state_prefix>/admin/*``).
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.secrets_scan import SECRET_SHAPES

LANGSMITH = "langsmith"
"""A key the sandbox issued."""
VAULT = "vault"
"""An OpenBao root token, a token or an AppRole secret id."""
SINK = "sink"
"""A test constant handed to an alert sink or a Pushgateway: HMAC secret, routing key, password, URL secret."""
SHAPED = "shaped"
"""Any secret-shaped string (tests/support/secrets_scan.py), known or not."""

DEFAULT_STATE_PREFIX = "langsmith-rotator"
"""``vault.state_prefix``'s default (rotator/config/vault.py)."""
STATE_MOUNT = "secret"
"""The KV v2 mount every test's config uses for the rotator's state."""
# The state layout (rotator/state/layout.py), copied rather than imported: the scan must not trust the product.
LAYOUT_SUFFIX = re.compile(r"(?:^|/)(?:secrets/[^/]+|leases/[^/]+|alerts)$")
_CORE = re.compile(r"[0-9a-f]{32}_[0-9a-f]{10}")
"""The random part of a LangSmith key: found even without its ``lsv2_sk_`` prefix."""
_SECRET_CONSTANT = re.compile(r"HMAC|SECRET|PASSWORD|BEARER|TOKEN|ROUTING_KEY|API_KEY")
_NOT_A_SECRET = re.compile(r"_(?:ENV|NAME|HEADER|PATH|FILE)$")
_ENV_NAME = re.compile(r"[A-Z][A-Z0-9_]*")
MIN_SECRET_LENGTH = 8


def mask(secret: str) -> str:
    """What a report may show of ``secret``: a prefix, at most a third of it."""
    return f"{secret[: min(12, len(secret) // 3)]}..."


# ── the registry ────────────────────────────────────────────────────────────────────────────────────────


class Registry:
    """The run's known secrets by kind. LangSmith keys are indexed by their random part, so a text is searched
    for all of them in one pass; the others (a few dozen) one by one."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cores: dict[str, str] = {}
        self._others: dict[str, str] = {}

    def __len__(self) -> int:
        return len(self._cores) + len(self._others)

    def add(self, secret: str, kind: str) -> None:
        if len(secret) < MIN_SECRET_LENGTH:
            return
        core = _CORE.search(secret)
        with self._lock:
            if core is not None and SECRET_SHAPES.fullmatch(secret):
                self._cores[core.group()] = secret
            else:
                self._others.setdefault(secret, kind)

    def find(self, text: str, exempt: Collection[str] = ()) -> list[str]:
        """The secrets in ``text``, masked: known ones of kinds not ``exempt``, and any secret-shaped string
        (unless ``SHAPED`` is exempt)."""
        hits: dict[str, None] = {}
        with self._lock:
            cores, others = dict(self._cores), list(self._others.items())
        if LANGSMITH not in exempt:
            for match in _CORE.finditer(text):
                secret = cores.get(match.group())
                if secret is not None:
                    part = "" if secret in text else f"{LANGSMITH} key's random part of "
                    hits[f"known {part}{mask(secret)}"] = None
        if SHAPED not in exempt:
            for match in SECRET_SHAPES.finditer(text):
                core = _CORE.search(match.group())
                if core is None or core.group() not in cores:
                    hits[mask(match.group())] = None
        for secret, kind in others:
            if kind not in exempt and secret in text:
                hits[f"known {kind} secret {mask(secret)}"] = None
        return list(hits)


# ── what was collected ──────────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Text:
    source: str
    label: str
    text: str
    exempt: frozenset[str] = frozenset()


@dataclass
class Stats:
    texts: Counter[str] = field(default_factory=Counter)
    size: Counter[str] = field(default_factory=Counter)
    hits: int = 0
    reading: float = 0.0
    """Seconds spent reading files and Vault."""
    scanning: float = 0.0


class VaultWalker:
    """Reads the rotator's state documents in one OpenBao server's KV v2 mount over its HTTP API (not through the
    product's Vault client): every version still kept, once each; and the custom metadata of every other
    document (the rotator sets ``rotated_at``, ``previous_key_id``... on the managed secrets)."""

    def __init__(self, address: str, token: str, mount: str = STATE_MOUNT) -> None:
        self._http = httpx.Client(base_url=f"{address}/v1/{mount}", headers={"X-Vault-Token": token}, timeout=10)
        self.mount = mount
        self._roots: set[str] = set()
        self._scanned: set[tuple[str, str]] = set()
        """(path, version number) read; (path, updated_time) for a document whose custom metadata only was read."""

    def close(self) -> None:
        self._http.close()

    def _list(self, folder: str) -> list[str]:
        answer = self._http.request("LIST", f"/metadata/{folder}")
        if answer.status_code == 404:
            return []
        answer.raise_for_status()
        return [str(key) for key in answer.json()["data"]["keys"]]

    def _documents(self, folder: str) -> Iterator[str]:
        for key in self._list(folder):
            if key.endswith("/"):
                yield from self._documents(folder + key)
            else:
                yield folder + key

    def new_texts(self, is_state: Callable[[str], bool], also: Iterable[str]) -> Iterator[Text]:
        """The state documents' versions not read before, under top-level folders that appeared since the last
        call, or that ``also`` names (folders tests share)."""
        roots = set(self._list(""))
        fresh, self._roots = roots - self._roots, self._roots | roots
        for root in sorted(fresh | ({f"{name.split('/')[0]}/" for name in also} & roots)):
            for path in self._documents(root):
                yield from (self._versions(path) if is_state(path) else self._custom_metadata(path))

    def _metadata(self, path: str) -> dict[str, Any] | None:
        answer = self._http.get(f"/metadata/{path}")
        if answer.status_code == 404:
            return None
        answer.raise_for_status()
        metadata: dict[str, Any] = answer.json()["data"]
        return metadata

    def _custom_metadata(self, path: str) -> Iterator[Text]:
        """Any other document (a managed secret, which holds the key by design): its custom metadata only."""
        metadata = self._metadata(path)
        seen = (path, str(metadata["updated_time"]) if metadata is not None else "")
        if metadata is None or seen in self._scanned:
            return
        self._scanned.add(seen)
        if metadata.get("custom_metadata"):
            yield Text("vault-metadata", f"{self.mount}/{path}", json.dumps(metadata["custom_metadata"]))

    def _versions(self, path: str) -> Iterator[Text]:
        metadata = self._metadata(path)
        if metadata is None:
            return
        for number, version in sorted(metadata["versions"].items(), key=lambda item: int(item[0])):
            if (path, number) in self._scanned or version.get("destroyed") or version.get("deletion_time"):
                continue
            read = self._http.get(f"/data/{path}", params={"version": number})
            if read.status_code == 404:
                continue
            read.raise_for_status()
            self._scanned.add((path, number))
            document = {"data": read.json()["data"]["data"], "custom_metadata": metadata.get("custom_metadata")}
            yield Text("vault-state", f"{self.mount}/{path} v{number}", json.dumps(document))


class LeakScan:
    def __init__(self) -> None:
        self.registry = Registry()
        self.stats = Stats()
        self.vault: VaultWalker | None = None
        self._current: list[Text] | None = None
        self._files: list[Path] = []
        self._prefixes_now: set[str] = set()
        self._vault_due = False
        self._outside: list[Text] = []
        self._lock = threading.Lock()

    # the collectors' side

    def collect(self, source: str, text: str | bytes, label: str = "", exempt: Collection[str] = ()) -> None:
        """Scan ``text`` at the end of the current test (or of the session, outside any test). Thread-safe: the
        receivers collect from their server threads."""
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        if text:
            found = Text(source, label, text, frozenset(exempt))
            with self._lock:
                (self._outside if self._current is None else self._current).append(found)

    def watch_file(self, path: Path) -> None:
        """Read ``path`` (a file a rotator process writes to) when the current test ends."""
        self._files.append(path)

    def note_state_prefix(self, prefix: str) -> None:
        """A state prefix the current test configured: walked at its end even if an earlier test made its folder."""
        self._prefixes_now.add(prefix.strip("/"))

    @staticmethod
    def is_state_document(path: str) -> bool:
        """Where the state layout puts the rotator's documents under a prefix: ``<prefix>/secrets/<name>`` (the
        journal), ``<prefix>/leases/<name>``, ``<prefix>/alerts``. Not anything else under the prefix: the shipped
        policy keeps the orgs' admin keys at ``langsmith-rotator/admin/*``, where they are managed secrets."""
        return bool(LAYOUT_SUFFIX.search(path))

    # a test's life

    def begin(self, *, uses_vault: bool) -> None:
        with self._lock:
            self._current, self._files, self._prefixes_now = [], [], set()
        self._vault_due = uses_vault

    def finish_collecting(self) -> None:
        """At the end of a test's teardown: what its rotator processes wrote to files, and its state documents."""
        for path in self._files:
            if path.is_file():
                self.collect("rotator-output-file", path.read_bytes(), path.name)
        self._files = []
        self.read_vault()

    def read_vault(self) -> None:
        """The state documents the current test wrote, if it used the session's OpenBao; once per test. (Also
        called as the server stops, within the last test's teardown, once that test's own fixtures are gone.)"""
        if not self._vault_due or self.vault is None:
            return
        self._vault_due = False
        started = time.perf_counter()
        try:
            # The default prefix's folder is shared: walked again for a test that named no prefix of its own (its
            # config may be the default one, built in the test), or that configured the default.
            shared = self._prefixes_now or {DEFAULT_STATE_PREFIX}
            texts = list(self.vault.new_texts(self.is_state_document, shared))
        except httpx.HTTPError as error:
            raise AssertionError(f"leak scan: cannot read the state documents in OpenBao: {error}") from None
        finally:
            self.stats.reading += time.perf_counter() - started
        for text in texts:
            self.collect(text.source, text.text, text.label)

    def sweep_default_prefix(self) -> None:
        """Whatever of the default prefix's folder no test's walk read (a test that named its own prefix and also
        wrote under the default): read as the server stops, reported with the last test."""
        self._vault_due, self._prefixes_now = True, {DEFAULT_STATE_PREFIX}
        self.read_vault()

    def pending(self) -> list[Text]:
        """What the current test collected so far, not yet scanned."""
        with self._lock:
            return list(self._current or [])

    def scan_current(self) -> list[str]:
        with self._lock:
            texts, self._current = self._current or [], []
        return self._scan(texts)

    def end(self) -> None:
        with self._lock:
            leftover, self._current = self._current or [], None
            self._outside += leftover

    def scan_outside(self) -> list[str]:
        with self._lock:
            texts, self._outside = self._outside, []
        return self._scan(texts)

    def _scan(self, texts: Iterable[Text]) -> list[str]:
        started = time.perf_counter()
        problems = []
        for text in texts:
            self.stats.texts[text.source] += 1
            self.stats.size[text.source] += len(text.text.encode("utf-8", "replace"))
            hits = self.registry.find(text.text, text.exempt)
            if hits:
                self.stats.hits += len(hits)
                where = f"{text.source} ({text.label})" if text.label else text.source
                problems.append(f"{where}: {', '.join(hits)}")
        self.stats.scanning += time.perf_counter() - started
        return problems

    def summary(self) -> str:
        texts, size = sum(self.stats.texts.values()), sum(self.stats.size.values())
        return (
            f"leak scan: {len(self.registry)} secrets known, {texts} texts ({size} bytes) scanned, "
            f"{self.stats.hits} hits"
        )

    def breakdown(self) -> str:
        counts = sorted(self.stats.texts.items())
        parts = [f"{source} {count} ({self.stats.size[source]} B)" for source, count in counts]
        spent = f"{self.stats.reading:.2f}s reading Vault, {self.stats.scanning:.2f}s scanning"
        return f"leak scan sources: {', '.join(parts) or 'none'}; {spent}"


SCAN = LeakScan()
"""The session's scan: the collectors in tests/support call ``collect`` and ``register`` on it."""


def register(secret: str, kind: str) -> None:
    SCAN.registry.add(secret, kind)


def collect(source: str, text: str | bytes, label: str = "", exempt: Collection[str] = ()) -> None:
    SCAN.collect(source, text, label, exempt)


def collect_request(source: str, label: str, path: str, headers: Mapping[str, str], body: bytes) -> None:
    """A request a receiver got: its path may carry the sink's own secret, its ``Authorization`` header the sink's
    credentials, a PagerDuty event its routing key; nothing else may carry any secret."""
    collect(f"{source}-path", path, label, exempt=(SINK,))
    kept = {name: value for name, value in headers.items() if name.lower() != "authorization"}
    collect(f"{source}-headers", json.dumps(kept), label)
    text = body.decode("utf-8", "replace")
    try:
        document = json.loads(text)
    except ValueError:
        document = None
    if isinstance(document, dict) and "routing_key" in document:
        text = json.dumps({name: value for name, value in document.items() if name != "routing_key"})
    collect(f"{source}-body", text, label)


def note_config(config: Mapping[str, Any]) -> None:
    """A rotator config the tests wrote: its Vault state prefix holds state documents."""
    vault = config.get("vault")
    if isinstance(vault, Mapping):
        SCAN.note_state_prefix(str(vault.get("state_prefix") or DEFAULT_STATE_PREFIX))


def watch_vault(address: str, token: str) -> None:
    """The session's OpenBao: read its state documents at the end of every test that used it."""
    SCAN.vault = VaultWalker(address, token)


def unwatch_vault() -> None:
    """The session's OpenBao is stopping: read what the test being torn down wrote first."""
    if SCAN.vault is not None:
        SCAN.read_vault()
        SCAN.sweep_default_prefix()
        SCAN.vault.close()
        SCAN.vault = None


# ── where the secrets and the rotator's output come from ────────────────────────────────────────────────


def is_rotator_command(args: object) -> bool:
    """Whether a command line runs the rotator: ``python -m rotator ...`` or a program named ``rotator``."""
    if isinstance(args, str | bytes | os.PathLike):
        return False  # the suite runs the rotator from argument lists only
    if not isinstance(args, list | tuple):
        return False
    words = [os.fsdecode(arg) for arg in args if isinstance(arg, str | bytes | os.PathLike)]
    if any(a == "-m" and b == "rotator" for a, b in itertools.pairwise(words)):
        return True
    return any(os.path.basename(word) == "rotator" for word in words)


def _command_label(args: object) -> str:
    given = args if isinstance(args, list | tuple) else []
    words = [os.fsdecode(arg) for arg in given if isinstance(arg, str | bytes | os.PathLike)]
    commands = {"check", "status", "once", "run", "rotate", "adopt"}
    return "rotator " + next((word for word in words if word in commands), "...")


def _wrap_popen(patch: pytest.MonkeyPatch) -> None:
    real_init = subprocess.Popen.__init__
    real_communicate = subprocess.Popen.communicate

    @functools.wraps(real_init)
    def init(self: subprocess.Popen[Any], args: Any, *rest: Any, **options: Any) -> None:
        real_init(self, args, *rest, **options)
        if is_rotator_command(args):
            for stream in (options.get("stdout"), options.get("stderr")):
                name = getattr(stream, "name", None)
                if isinstance(name, str) and os.path.isfile(name):
                    SCAN.watch_file(Path(name))

    @functools.wraps(real_communicate)
    def communicate(self: subprocess.Popen[Any], input: Any = None, timeout: float | None = None) -> tuple[Any, Any]:
        out, err = real_communicate(self, input, timeout)
        if is_rotator_command(self.args):
            for stream in (out, err):
                if isinstance(stream, str | bytes):
                    collect("cli", stream, _command_label(self.args))
        return out, err

    patch.setattr(subprocess.Popen, "__init__", init)
    patch.setattr(subprocess.Popen, "communicate", communicate)


def _registering(method: Callable[..., Any], secret_of: Callable[[Any], str], kind: str) -> Callable[..., Any]:
    @functools.wraps(method)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        result = method(*args, **kwargs)
        register(secret_of(result), kind)
        return result

    return wrapped


def _wrap_issuers(patch: pytest.MonkeyPatch) -> None:
    from langsmith_sandbox import SandboxState
    from langsmith_sandbox.openbao import OpenBaoDevServer

    for name in ("add_service_key", "add_pat"):
        patch.setattr(SandboxState, name, _registering(getattr(SandboxState, name), lambda key: key.secret, LANGSMITH))
    patch.setattr(OpenBaoDevServer, "start", _registering(OpenBaoDevServer.start, lambda bao: bao.root_token, VAULT))
    patch.setattr(OpenBaoDevServer, "create_token", _registering(OpenBaoDevServer.create_token, str, VAULT))
    patch.setattr(
        OpenBaoDevServer,
        "create_approle",
        _registering(OpenBaoDevServer.create_approle, lambda creds: creds.secret_id, VAULT),
    )


def register_module_constants(modules: Iterable[object]) -> None:
    """The secrets the test modules hand sinks and servers: module-level strings (or tuples of them) whose names
    say they are secrets."""
    for module in modules:
        for name, value in vars(module).items():
            if name.startswith("_") or not _SECRET_CONSTANT.search(name) or _NOT_A_SECRET.search(name):
                continue
            values = [value] if isinstance(value, str) else list(value) if isinstance(value, tuple | frozenset) else []
            for item in values:
                if isinstance(item, str) and not _ENV_NAME.fullmatch(item):
                    register(item, SINK)


# ── the plugin ──────────────────────────────────────────────────────────────────────────────────────────

_PATCH = pytest.MonkeyPatch()


def pytest_configure(config: pytest.Config) -> None:
    _wrap_popen(_PATCH)
    _wrap_issuers(_PATCH)


def pytest_unconfigure(config: pytest.Config) -> None:
    _PATCH.undo()
    unwatch_vault()


def pytest_collection_finish(session: pytest.Session) -> None:
    modules = {name: module for name, module in list(sys.modules.items()) if name.startswith("tests.")}
    for item in session.items:
        parent = item.getparent(pytest.Module)
        if parent is not None:
            modules[parent.nodeid] = parent.obj
    register_module_constants(module for module in modules.values() if module is not None)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    SCAN.begin(uses_vault="openbao" in getattr(item, "fixturenames", ()))
    try:
        return (yield)
    finally:
        SCAN.end()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    try:
        return (yield)
    finally:
        SCAN.finish_collecting()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report: pytest.TestReport = yield  # type: ignore[assignment]  # a wrapper receives the hook's result
    phase = "\n".join(content for name, content in report.sections if name.endswith(f" {report.when}"))
    collect("captured", phase, report.when, exempt=(SHAPED,))  # shapes there: tests/support/secrets_scan.py
    if report.when == "teardown":
        problems = SCAN.scan_current()
        message = "secret(s) leaked into what the rotator wrote:\n" + "\n".join(problems)
        if problems and report.passed:
            report.outcome = "failed"
            report.longrepr = message
        elif problems:
            report.sections.append(("leak scan", message))
    return report  # type: ignore[return-value]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    problems = SCAN.scan_outside()
    if problems:
        session.config.stash[_OUTSIDE] = problems
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


_OUTSIDE = pytest.StashKey[list[str]]()


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    for problem in config.stash.get(_OUTSIDE, []):
        terminalreporter.write_line(f"leak scan, outside any test: {problem}", red=True)
    terminalreporter.write_line(SCAN.summary())
    if config.getoption("verbose") > 0:
        terminalreporter.write_line(SCAN.breakdown())
