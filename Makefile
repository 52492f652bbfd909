# The two commands of the README: `make run` starts the portal, `make test` runs every check.
VENV    := .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
PYTHON3 ?= python3

# The embedded default (no DATABASE_URL) is a local demo: DEBUG on unless said otherwise.
ifeq ($(DATABASE_URL),)
export DEBUG ?= true
endif

.PHONY: run test install lint messages

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON3) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(PY) manage.py prepare_face_model
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_demo
	@if [ -n "$$DATABASE_URL" ] && [ -n "$$REDIS_URL" ]; then \
	  $(PY) manage.py collectstatic --noinput >/dev/null && \
	  $(VENV)/bin/honcho start -f Procfile; \
	else \
	  $(PY) manage.py runserver 127.0.0.1:8000; \
	fi

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache
	$(VENV)/bin/mypy

test: $(STAMP)
	.ci/ensure-services
	.ci/ensure-browser
	$(MAKE) --no-print-directory lint
	DJANGO_SETTINGS_MODULE=tests.settings $(PY) manage.py makemigrations --check --dry-run
	DJANGO_SETTINGS_MODULE=tests.settings $(PY) manage.py prepare_face_model
	$(VENV)/bin/pytest

# Refreshes the translation catalogues after strings change (needs GNU gettext).
messages: $(STAMP)
	$(PY) manage.py makemessages -l zh_Hans --no-obsolete --no-location \
	  --ignore '.venv/*' --ignore 'var/*' --ignore 'tests/*' --ignore 'bench/*'
	$(PY) manage.py makemessages -d djangojs -l zh_Hans --no-obsolete --no-location \
	  --ignore '.venv/*' --ignore 'var/*' --ignore 'tests/*' --ignore 'bench/*'
	$(PY) manage.py compilemessages --ignore '.venv/*' 
