# Two commands on a fresh machine:
#   make run    install into .venv, train the demo models (first time) and open the workbench on them
#   make test   install with the dev extras (and Chromium for browser tests), run every test
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8501
DEMO_RUNS ?= runs/demo
# CPU-only machines keep the local CPU build of torch; with a GPU, pip keeps your own torch.
CONSTRAINTS := $(if $(shell command -v nvidia-smi 2>/dev/null),,-c constraints-cpu.txt)
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: run test install install-dev browser lint clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(VENV)/.installed: $(PY) pyproject.toml constraints-cpu.txt
	$(PY) -m pip install -q $(CONSTRAINTS) -e .
	touch $@

$(VENV)/.installed-dev: $(PY) pyproject.toml constraints-cpu.txt
	$(PY) -m pip install -q $(CONSTRAINTS) -e '.[dev,bench]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# Debian's Chromium for the browser tests (Playwright cannot download browsers here).
browser:
	@command -v chromium >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; }
	@chromium --version

# The demo models (PCA, β-VAE, annealed β-VAE, split-task VAE) train into runs/demo the
# first time (minutes on a laptop CPU; finished runs are skipped, an interrupted one resumes).
run: install
	$(VENV)/bin/ecgwb demo --runs $(DEMO_RUNS)
	$(VENV)/bin/ecgwb app --runs $(DEMO_RUNS) --host $(HOST) --port $(PORT)

test: install-dev browser
	$(PY) -m pytest -q

lint: install-dev
	$(VENV)/bin/ruff check ecgcore trainer pages app.py tests

clean:
	rm -rf $(VENV) .pytest_cache
