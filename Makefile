# The two commands of the README's quick start: `make run` and `make test`.
# Both create .venv on first use; `make test` also installs what the tests need
# from Debian (headless Chromium + driver, redis-server) where it is missing.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8050
PYTEST_ARGS ?=

.PHONY: run test install install-test system-deps test-unit test-e2e bench audit clean

# The venv's own build tools are upgraded first: `python -m venv` seeds the setuptools bundled
# with the interpreter (65.5 for Python 3.11, which has known CVEs); pyproject.toml's
# build-system asks for setuptools>=68 anyway. The Makefile is a prerequisite so that a venv
# made by an older Makefile gets the upgrade on its next `make run` / `make test`.
# The package is byte-compiled as a wheel install would do it (an editable install does not,
# and PYTHONDONTWRITEBYTECODE=1 environments never write .pyc): every `anycast-dashboard` run
# then starts ~0.07 s sooner. Python checks each .pyc against its source's mtime and size, so
# a stale one is recompiled in memory, never used for an edited file.
$(VENV)/.installed: pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip setuptools wheel
	$(PY) -m pip install --quiet -e .
	$(PY) -m compileall -q dashboard
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test system-deps

## Serve the dashboard on http://127.0.0.1:8050 with the embedded defaults.
run: install
	$(VENV)/bin/anycast-dashboard serve --host $(HOST) --port $(PORT)

## Install everything the tests need and run the whole suite (unit, app, browser, redis, gunicorn).
test: install-test
	$(PY) -m pytest --headless $(PYTEST_ARGS)

## The fast lane: unit, services, callbacks and API tests in-process (no browser, no gunicorn,
## Redis or Celery, no long property runs); `make test` runs everything.
test-unit: $(VENV)/.installed-test
	$(PY) -m pytest -m "not e2e and not serving and not slow" $(PYTEST_ARGS)

## Debian packages the tests use; installed only where missing (needs root or sudo).
system-deps:
	@missing=""; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v chromedriver >/dev/null || missing="$$missing chromium-driver"; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" -ne 0 ] && SUDO="sudo"; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

bench: install-test
	$(PY) benchmarks/nearest.py

## Audit the venv's packages for known vulnerabilities (installs pip-audit from PyPI into the
## venv). Exit 0 only when every package was checked and none is vulnerable; 1 when some are;
## 2 when the audit could not check (no database, packages skipped): never a false all-clear.
audit: install
	VENV=$(VENV) tools/audit.sh

clean:
	rm -rf $(VENV) .pytest_cache artifacts
