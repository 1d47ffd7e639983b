# Two entry points: `make run` (set up and start the app) and `make test` (set up and run every test).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: run test test-fast lint bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# torch first, pinned: it is the local CPU build, anything else pulls a multi-GB CUDA build.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e ".[test,peers]"
	rm -f $(VENV)/.installed-*; touch $@

run: $(STAMP)
	$(BIN)/tinystyle-studio

test: $(STAMP)
	$(BIN)/ruff check engine studio tests scripts
	$(BIN)/lint-imports
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q

test-fast: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -m "not slow" -x

lint: $(STAMP)
	$(BIN)/ruff check engine studio tests scripts
	$(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/tinystyle bench

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
