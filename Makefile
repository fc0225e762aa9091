# Quick start: `make run` (set up, then extract the bundled sample notes) and `make test`.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test setup lint bench clean

# the modules setup.py compiles with mypyc, read from their one list in scribe/_native.py: an edit rebuilds them
NATIVE := setup.py scribe/_native.py $(shell sed -n 's/^    "\(scribe\/.*\.py\)",$$/\1/p' scribe/_native.py)

$(STAMP): pyproject.toml $(NATIVE)
	@command -v $(PY) >/dev/null 2>&1 || { echo "need $(PY) on PATH"; exit 1; }
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	@touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	$(BIN)/scribe check sample_notes --format table || [ $$? -le 1 ]

test: $(STAMP)
	$(BIN)/ruff check scribe tests benchmarks
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/throughput.py

clean:
	rm -rf $(VENV) build scribe__mypyc*.so
	find scribe -name '*.so' -delete
