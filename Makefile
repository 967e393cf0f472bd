# Ossature: `make run` serves the demo on http://127.0.0.1:5000, `make test` runs the suite.
# Needs only GNU make and python3 >= 3.11; everything else goes into .venv.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000

# Reinstall whenever the package metadata changes.
INSTALLED := $(VENV)/.installed
INSTALLED_TEST := $(VENV)/.installed-test

.PHONY: run test lint bench clean install worker

# Serves with gunicorn, as in production (Ctrl-C stops it); `make run SERVE_OPTIONS=--dev` serves
# with Flask's reloader and debugger instead, `SERVE_OPTIONS="--workers 2"` sets gunicorn's options.
run: $(INSTALLED)
	$(BIN)/ossature migrate
	$(BIN)/ossature seed-demo
	$(BIN)/ossature serve --host $(HOST) --port $(PORT) $(SERVE_OPTIONS)

# Runs jobs sent through OSSATURE_BROKER_URL (see "Jobs and workers" in README.md).
worker: $(INSTALLED)
	$(BIN)/ossature worker

# Every test on TEST_WORKERS processes (pytest-xdist), a file's tests together on one of them.
TEST_WORKERS ?= 2
test: $(INSTALLED_TEST)
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

# The layer contracts of .importlinter (docs/architecture.md); .ci/run runs it before the tests.
lint: $(INSTALLED_TEST)
	$(BIN)/lint-imports --no-cache

bench: $(INSTALLED)
	$(BIN)/python bench/run.py

install: $(INSTALLED)

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Ossature needs Python >= 3.11; set PYTHON=python3.11 (or newer)")'
	$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
	  echo "cannot create $(VENV): on Debian/Ubuntu, install python3-venv (apt-get install python3-venv)" >&2; exit 1; }

$(INSTALLED): $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

# The suite also needs a real third-party plugin installed: tests/fixtures/test_plugin.
$(INSTALLED_TEST): $(BIN)/python setup.cfg pyproject.toml tests/fixtures/test_plugin/pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/python -m pip install --quiet -e tests/fixtures/test_plugin
	@touch $@ $(INSTALLED)

# Leaves instance/ (the local SQLite database) alone.
clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
