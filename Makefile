# Two commands on a fresh machine:
#   make run    install into .venv, install the shipped demo runs (first time) and open the workbench on them
#   make test   install with the dev extras (and Chromium for browser tests), run every test
# Both install the tested versions from requirements/lock.txt. Maintainers:
#   make lock         regenerate the lock after changing dependencies in pyproject.toml
#   make test-latest  the suite against the newest releases, in .venv-latest (drift, before users see it)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8501
DEMO_RUNS ?= runs/demo
# CPU-only machines keep the local CPU build of torch; with a GPU, pip keeps your own torch.
CONSTRAINTS := $(if $(shell command -v nvidia-smi 2>/dev/null),,-c constraints-cpu.txt)
# Every dependency but torch at the version the suite passed with (pip-compile's output,
# used as constraints so that `make run` takes only the runtime part of it).
LOCK := requirements/lock.txt
PIP_VERSION := 26.3
PIP_TOOLS_VERSION := 7.7.0
INSTALL = $(PY) -m pip install -q -c $(LOCK) $(CONSTRAINTS)
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: run test install install-dev browser lint clean lock test-latest

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q pip==$(PIP_VERSION)

$(VENV)/.installed: $(PY) pyproject.toml $(LOCK) constraints-cpu.txt
	$(INSTALL) -e .
	touch $@

$(VENV)/.installed-dev: $(PY) pyproject.toml $(LOCK) constraints-cpu.txt
	$(INSTALL) -e '.[dev,bench]'
	$(PY) -m pip check
	touch $@ $(VENV)/.installed

# The lock is resolved on this platform (Linux, CPython 3.11, torch's CPU build via
# constraints-cpu.txt so that no CUDA package enters it); torch itself is left out of it.
lock:
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/pip install -q pip==$(PIP_VERSION) pip-tools==$(PIP_TOOLS_VERSION)
	.venv-lock/bin/pip-compile -q --upgrade --extra dev --extra bench -c constraints-cpu.txt \
	  --unsafe-package torch --strip-extras --no-emit-index-url --no-emit-find-links \
	  --no-emit-trusted-host --output-file $(LOCK) pyproject.toml
	rm -rf .venv-lock
	@echo "$(LOCK) regenerated: run 'make test' on it before committing"

# Not part of CI: the newest release of every dependency (torch stays the CPU build on a
# machine without a GPU), so that a release that breaks us is seen before users see it.
test-latest: browser
	rm -rf .venv-latest && $(PYTHON) -m venv .venv-latest
	.venv-latest/bin/pip install -q --upgrade pip
	.venv-latest/bin/pip install -q --upgrade $(CONSTRAINTS) -e '.[dev,bench]'
	-.venv-latest/bin/python requirements/drift.py
	.venv-latest/bin/python -m pytest -q

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# Debian's Chromium for the browser tests (Playwright cannot download browsers here).
# The project starts its binary, /usr/lib/chromium/chromium, not the /usr/bin/chromium
# wrapper: the wrapper's /etc/chromium.d/dev-shm test prints "[: N: unexpected operator"
# whenever findmnt lists /dev/shm twice, as in containers (ecgcore.viz.export.chromium_binary).
CHROMIUM_BIN := /usr/lib/chromium/chromium
browser:
	@command -v chromium >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; }
	@if [ -x $(CHROMIUM_BIN) ]; then $(CHROMIUM_BIN) --version; else chromium --version; fi

# The shipped demo runs (PCA, β-VAE, annealed β-VAE, split-task VAE; assets/demo/runs) are
# copied into runs/demo the first time (seconds) and the demo data's beat cache built there
# (about 12 s on 2 idle cores); the app caches its results in runs/demo, never in the git
# tree. To train them again: `ecgwb demo --retrain` (README).
run: install
	$(VENV)/bin/ecgwb demo --runs $(DEMO_RUNS)
	$(VENV)/bin/ecgwb app --runs $(DEMO_RUNS) --host $(HOST) --port $(PORT) $(if $(SECRET_FILE),--secret-file $(SECRET_FILE))

# The environment must be the lock's (requirements/drift.py names any package that is not).
LINTED := ecgcore ecgwb trainer ui pages app.py tests

test: install-dev browser
	$(PY) requirements/drift.py
	$(VENV)/bin/ruff check $(LINTED)
	$(PY) -m pytest -q

lint: install-dev
	$(VENV)/bin/ruff check $(LINTED)

clean:
	rm -rf $(VENV) .venv-latest .venv-lock .pytest_cache
