# Quick start: `make run` (set up, then extract the bundled sample notes) and `make test`.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SPARK := $(VENV)/.installed-spark

.PHONY: run test setup lint bench clean

$(STAMP): pyproject.toml
	@command -v $(PY) >/dev/null 2>&1 || { echo "need $(PY) on PATH"; exit 1; }
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	@touch $(STAMP)

# the Spark test needs pyspark (a large download): only `make test` installs it, `make run` does not
$(SPARK): $(STAMP)
	$(BIN)/pip install -q -e '.[test,spark]'
	@touch $(SPARK)

setup: $(STAMP)

run: $(STAMP)
	$(BIN)/scribe check sample_notes --format table || [ $$? -le 1 ]

test: $(SPARK)
	$(BIN)/ruff check scribe tests benchmarks
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/throughput.py

clean:
	rm -rf $(VENV) build dist
