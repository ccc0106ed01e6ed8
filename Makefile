# Two commands matter: `make run` and `make test`. Everything else is what they need.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Python 3.10: Rasa Open Source 3.6 refuses 3.11. A pyenv shim that exists but cannot run
# (pyenv's global version is another one) is skipped.
PYTHON ?= $(shell for p in python3.10 /root/.pyenv/versions/3.10.*/bin/python3.10 /usr/bin/python3.10 /usr/local/bin/python3.10; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' 2>/dev/null && { echo $$p; break; }; done)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SPACY  := var/spacy/nb/config.cfg
DB_STAMP := var/.db-ready
MODEL_STAMP := models/.trained
# The web chat page's socket.io client, from the npm registry at install time (pinned).
SOCKETIO_CLIENT := socket.io-client@4.8.1
VENDOR_JS := var/vendor/socket.io.min.js
# Debian's Chromium for the browser tests (Playwright drives it; no browser download).
CHROMIUM := /usr/bin/chromium
# Debian's nginx: the load balancer of the scale setup (make run-scale, the load test).
NGINX := /usr/sbin/nginx
# locust in an environment of its own (bot bench load drives it).
LOAD_VENV := .venv-load
LOAD_STAMP := $(LOAD_VENV)/.installed
# The web server (chat page, desk) in an environment of its own, on a current aiohttp
# (Rasa 3.6 pins aiohttp<3.10); bot/ has no Rasa import. See bot/web/requirements.txt.
WEB_VENV := .venv-web
WEB_STAMP := $(WEB_VENV)/.installed
# The scale setup's services on this machine, unless set.
SCALE_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/fjordbil
SCALE_REDIS_URL ?= redis://127.0.0.1:6379/1
export TF_CPP_MIN_LOG_LEVEL ?= 2
export SQLALCHEMY_SILENCE_UBER_WARNING ?= 1
export PYTHONWARNINGS ?= ignore::DeprecationWarning
# endpoints.yml sends ${ACTION_SERVER_TOKEN} to the action server; Rasa refuses an unset variable.
export ACTION_SERVER_TOKEN ?=

TRAINING_INPUTS := $(shell find data -name '*.yml' 2>/dev/null) config.yml domain.yml

.PHONY: help install run run-scale shell test test-slow lint validate unit e2e conversation-tests evaluate bench bench-load load-env web-env lock model db clean

help:
	@echo "make run    - set up everything that is missing, then start the assistant"
	@echo "make test   - set up everything that is missing, then run every test but the slow ones"
	@echo "make test-slow - the full retraining test (bot train end to end, several minutes)"
	@echo "make shell ID=demo-sv - talk to the running assistant in the terminal"
	@echo "make evaluate - NLU cross-validation report under results/"
	@echo "make bench  - training time, start-up time and per-turn latency"
	@echo "make run-scale - two Rasa instances and two action servers behind nginx, PostgreSQL and Redis"
	@echo "make bench-load - the load test (locust): embedded, scale and Rasa's starter bot, about 40 min"

$(BIN)/python:
	@if [ -z "$(PYTHON)" ]; then \
	  echo "Python 3.10 is required (Rasa 3.6 does not run on 3.11+) and was not found."; \
	  echo "Install it, e.g. 'pyenv install 3.10.13' or 'apt-get install python3.10 python3.10-venv',"; \
	  echo "or point to it: make PYTHON=/path/to/python3.10 run"; exit 1; fi
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/python -m pip install --quiet --upgrade "pip==26.3"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $@

install: $(STAMP) $(WEB_STAMP) $(VENDOR_JS)

$(VENDOR_JS):
	@command -v npm >/dev/null || { echo "npm is needed once to fetch $(SOCKETIO_CLIENT) (apt-get install npm)"; exit 1; }
	rm -rf var/vendor/tmp && mkdir -p var/vendor/tmp
	cd var/vendor/tmp && npm pack --silent $(SOCKETIO_CLIENT) >/dev/null && tar -xzf socket.io-client-*.tgz package/dist/socket.io.min.js
	mv var/vendor/tmp/package/dist/socket.io.min.js $@ && rm -rf var/vendor/tmp

# $(call apt_install,PACKAGE,WHAT NEEDS IT): Debian's package when running as root, else say
# what will be skipped without it.
define apt_install
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing Debian's $(1) for $(2)"; \
	  apt-get install -y -q $(1) >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q $(1) >/dev/null 2>&1; } \
	  || echo "could not install $(1): $(2) will be skipped"; \
	else echo "$(2) need Debian's $(1) (apt-get install $(1)); they will be skipped"; fi
endef

$(CHROMIUM):
	$(call apt_install,chromium,the browser tests)

$(NGINX):
	$(call apt_install,nginx,the scale setup and its load test)

$(LOAD_STAMP): $(BIN)/python tests/bench/load-constraints.txt
	$(PYTHON) -m venv $(LOAD_VENV)
	$(LOAD_VENV)/bin/python -m pip install --quiet --upgrade "pip==26.3"
	$(LOAD_VENV)/bin/python -m pip install --quiet -r tests/bench/load-constraints.txt
	@touch $@

load-env: $(LOAD_STAMP)

$(WEB_STAMP): $(BIN)/python bot/web/requirements.txt pyproject.toml
	$(PYTHON) -m venv $(WEB_VENV)
	$(WEB_VENV)/bin/python -m pip install --quiet --upgrade "pip==26.3"
	$(WEB_VENV)/bin/python -m pip install --quiet -r bot/web/requirements.txt
	$(WEB_VENV)/bin/python -m pip install --quiet --no-deps -e .
	@touch $@

web-env: $(WEB_STAMP)

$(SPACY): $(STAMP) bot/nlp.py
	$(BIN)/bot nlp build

$(DB_STAMP): $(STAMP) $(wildcard bot/db/migrations/versions/*.py) $(wildcard bot/db/seed/*.yaml)
	$(BIN)/bot db upgrade
	$(BIN)/bot seed-demo
	@touch $@

db: $(DB_STAMP)

# Rasa's own fingerprinting also skips a training whose inputs did not change.
$(MODEL_STAMP): $(STAMP) $(SPACY) $(TRAINING_INPUTS)
	$(BIN)/rasa train --quiet --out models
	@touch $@

model: $(MODEL_STAMP)

run: $(DB_STAMP) $(MODEL_STAMP) $(VENDOR_JS) $(WEB_STAMP)
	$(BIN)/bot run

# PostgreSQL and Redis of this machine unless DATABASE_URL / REDIS_URL say otherwise.
run-scale: $(STAMP) $(MODEL_STAMP) $(VENDOR_JS) $(NGINX) $(WEB_STAMP)
	DATABASE_URL=$${DATABASE_URL:-$(SCALE_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(SCALE_REDIS_URL)} $(BIN)/bot run --scale

shell: $(MODEL_STAMP)
	ACTION_SERVER_TOKEN=$${ACTION_SERVER_TOKEN:-$$(cat var/action-server.token 2>/dev/null)} \
	$(BIN)/rasa shell --conversation-id $(or $(ID),demo-respond) --port 5006 --endpoints endpoints.yml

lint: $(STAMP)
	$(BIN)/ruff check bot actions connectors tests

validate: $(STAMP)
	$(BIN)/python .ci/validate_data.py

unit: $(STAMP) $(SPACY)
	$(BIN)/python -m pytest -m "not e2e" -q

e2e: $(STAMP) $(MODEL_STAMP) $(VENDOR_JS) $(CHROMIUM) $(NGINX) $(LOAD_STAMP) $(WEB_STAMP)
	$(BIN)/python -m pytest -m e2e -q

conversation-tests: $(MODEL_STAMP)
	$(BIN)/rasa test core --stories tests/test_stories.yml --fail-on-prediction-errors --out results/conversation-tests

test: $(STAMP) $(SPACY) $(MODEL_STAMP) $(VENDOR_JS) $(CHROMIUM) $(NGINX) $(LOAD_STAMP) $(WEB_STAMP)
	$(MAKE) --no-print-directory lint validate
	$(BIN)/python -m pytest -q -m "not slow" --durations=15
	$(MAKE) --no-print-directory conversation-tests

# A full `bot train` (full model + conversation tests) on a copy of the project: minutes.
test-slow: $(STAMP) $(SPACY) $(MODEL_STAMP)
	$(BIN)/python -m pytest -q -m slow

evaluate: $(STAMP) $(SPACY)
	$(BIN)/rasa test nlu --nlu data --cross-validation --folds 3 --successes --out results/nlu-cross-validation
	$(BIN)/python -m bot.evaluation results/nlu-cross-validation

bench: $(DB_STAMP) $(MODEL_STAMP)
	$(BIN)/bot bench turns

bench-load: $(DB_STAMP) $(MODEL_STAMP) $(NGINX) $(LOAD_STAMP) $(WEB_STAMP)
	$(BIN)/bot bench load --kill

lock: $(BIN)/python
	rm -rf /tmp/fjordbil-lock && $(PYTHON) -m venv /tmp/fjordbil-lock
	/tmp/fjordbil-lock/bin/pip install --quiet -e '.[dev]'
	{ echo "# Exact versions of every package, resolved together on Python 3.10 (pip freeze)."; \
	  echo "# Regenerate: make lock"; /tmp/fjordbil-lock/bin/pip freeze --exclude-editable; } > constraints.txt

clean:
	rm -rf $(VENV) $(LOAD_VENV) $(WEB_VENV) var models/*.tar.gz $(MODEL_STAMP) results .rasa
