# Two commands a newcomer needs: `make demo` and `make test`. Everything else is a step they call.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast lint imports typecheck bench image-test lock audit clean

# The venv: every distribution of the lock, each file checked against its sha256 (pip itself too), then the two
# editable installs, which cannot be hashed: --no-deps, built by the locked setuptools (--no-build-isolation).
$(STAMP): pyproject.toml langsmith_sandbox/pyproject.toml image/dev-constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes --requirement image/dev-constraints.txt
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e . -e ./langsmith_sandbox
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m langsmith_sandbox demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/bandit --quiet -c pyproject.toml -r rotator langsmith_sandbox

imports: $(STAMP)
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy
	$(BIN)/mypy --strict image/constraints.py image/test.py

test: lint imports typecheck
	$(BIN)/pytest

# The unit tier: every saga path over in-memory ports and an in-process sandbox, no sockets, seconds.
test-fast: $(STAMP)
	$(BIN)/pytest tests/unit -q

# Benchmarks against the physical limits (bench/README.md): ~20 min; `make bench BENCH_ARGS=--quick` ~2 min.
bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

# The Dockerfile built with buildah (no Docker engine) and check/once run inside it; root, ~1.5 min (image/test.py).
image-test: $(STAMP)
	$(BIN)/python image/test.py

# Re-lock after changing a dependency in pyproject.toml (or after `$(BIN)/pip install --upgrade NAME`): installs what
# pyproject.toml asks for that the venv lacks, then rewrites image/constraints.txt (the image) and
# image/dev-constraints.txt (the venv) from the venv's versions, with the index's sha256 of every file of each.
# Needs the package index; the tests and image-test fail while a lock is out of date.
lock: $(STAMP)
	$(BIN)/pip install --quiet --no-build-isolation -e '.[dev]' -e ./langsmith_sandbox
	$(BIN)/python image/constraints.py

# Known vulnerabilities in every locked distribution (pip-audit, PyPI's advisory data): needs the internet, so CI does
# not run it. --disable-pip: the pins as locked, no resolution; --strict: a distribution it could not look up fails
# the audit (without it, an unreachable database would "pass" with every distribution skipped).
audit: $(STAMP)
	$(BIN)/pip-audit --strict --disable-pip --require-hashes --requirement image/constraints.txt
	$(BIN)/pip-audit --strict --disable-pip --require-hashes --requirement image/dev-constraints.txt

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
