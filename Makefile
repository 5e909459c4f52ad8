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

.PHONY: run test install install-test system-deps test-unit test-e2e bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
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

## Unit + app tests only (no browser, no tests marked `serving` that start servers), for a quick loop.
test-unit: install-test
	$(PY) -m pytest --headless -m "not e2e and not serving" $(PYTEST_ARGS)

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

clean:
	rm -rf $(VENV) .pytest_cache artifacts
