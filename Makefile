# What CI runs is `make test` (via .ci/run); anyone can run the same.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# `make test PYTEST_ARGS="-q test_cache.py"` runs only those tests (paths are relative to tests/).
PYTEST_ARGS ?= .

.PHONY: install test check fuzz bench bench-real clean demo

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# A plain (not editable) install: the tests run against what a user gets.
$(VENV)/.installed: pyproject.toml $(BIN)/python $(shell find extractor grammars fixtures -type f -not -name '*.pyc' 2>/dev/null)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q '.[test]'
	touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/kstack demo

test: install
	cd tests && ../$(BIN)/python -m pytest -p no:cacheprovider $(PYTEST_ARGS)

check: install
	$(BIN)/ruff check extractor tests benchmarks
	$(BIN)/ruff format --check extractor tests benchmarks
	$(BIN)/mypy extractor

fuzz: install
	cd tests && KSTACK_FUZZ_EXAMPLES=$${KSTACK_FUZZ_EXAMPLES:-5000} ../$(BIN)/python -m pytest -p no:cacheprovider -q test_fuzz_gcc.py

bench: install
	$(BIN)/python benchmarks/run.py --report benchmarks/RESULTS.md

# Real mainline history (not in CI: it needs a fetched repository, see benchmarks/README.md)
REAL_REPO ?= /work/real/linux.git
bench-real: install
	$(BIN)/python benchmarks/real_history.py --repo $(REAL_REPO) --report benchmarks/.real-history.md

clean:
	rm -rf $(VENV) build *.egg-info
