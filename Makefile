# The two commands of README: `make run` starts the gateway, `make test` runs the tests.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
RUN_STAMP := $(VENV)/.installed-run

.PHONY: run test test-fast lint bench install clean-var chromium

# Outside DEBUG the gateway refuses to start without SECRET_KEY; unless one is given, every target
# here uses this checkout's own, made once in var/secret_key (production sets its own).
ifndef SECRET_KEY
SECRET_KEY := $(shell test -s var/secret_key || (mkdir -p var && umask 077 && $(PYTHON) -c \
	'import secrets; print(secrets.token_urlsafe(50))' > var/secret_key); cat var/secret_key)
endif
export SECRET_KEY

# `make run` installs what running needs (requirements.txt); the other targets add the
# development, test, load and browser tools (requirements-dev.txt).
$(RUN_STAMP): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(RUN_STAMP)

$(STAMP): $(RUN_STAMP) requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

run: $(RUN_STAMP)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/honcho start

test: $(STAMP) chromium
	$(PY) -m pytest $(PYTEST_ARGS)

# The inner loop: every test but those marked slow (a browser, a worker, gunicorn or another
# process, a loopback SMSC, long hypothesis runs; pyproject.toml's markers). `make test` and CI
# run them all.
test-fast: $(STAMP)
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

# The admin's browser tests drive Debian's Chromium (never a downloaded browser build).
chromium:
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)

# Ruff, the layers and the API boundary that pyproject.toml states ([tool.importlinter]), then
# mypy with the Django and DRF plugins over the four apps ([tool.mypy]).
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

bench: $(STAMP)
	$(PY) bench/run.py

clean-var:
	rm -rf var

# Proof under pressure: each starts its own gunicorn, worker and loopback SMSC on its own database.
.PHONY: load faults fuzz
load: $(STAMP)
	$(PY) load/run.py

faults: $(STAMP)
	$(PY) faults/run.py

fuzz: $(STAMP)
	$(PY) fuzz/run.py
