# Two commands a newcomer needs: `make demo` and `make test`. Everything else is a step they call.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast lint imports typecheck bench image-test image-constraints clean

$(STAMP): pyproject.toml langsmith_sandbox/pyproject.toml image/constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c image/constraints.txt -e '.[dev]' -e ./langsmith_sandbox
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m langsmith_sandbox demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

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

bench: $(STAMP)
	$(BIN)/python -m bench.poll_throughput

# The Dockerfile built with buildah (no Docker engine) and check/once run inside it; root, ~1.5 min (image/test.py).
image-test: $(STAMP)
	$(BIN)/python image/test.py

# Re-pin the image's runtime dependencies to the venv's versions (image-test fails while they differ).
image-constraints: $(STAMP)
	$(BIN)/python image/constraints.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
