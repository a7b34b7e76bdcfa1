# Firefly: `make test` runs the whole suite, `make run` serves the API on http://127.0.0.1:8000.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.firefly-installed
# `make run` serves this database unless DATABASE_URL is set; `make test` makes its own.
RUN_DATABASE_URL := $(or $(DATABASE_URL),sqlite:///$(CURDIR)/var/firefly.db)
BIND   ?= 127.0.0.1:8000

.PHONY: install browser test lint run migrate bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml requirements.lock | $(BIN)/python
	$(BIN)/python -m pip install -q -c requirements.lock -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# The browser tests drive Debian's chromium headless; installed here when missing and we may.
# A CJK font (fonts-wqy-microhei) lets the console's screenshots show Chinese rather than boxes.
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null && fc-list :lang=zh | grep -q . || \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get install -y -q chromium chromium-driver fonts-wqy-microhei >/dev/null || \
		{ apt-get update -q >/dev/null && apt-get install -y -q chromium chromium-driver fonts-wqy-microhei >/dev/null; }; \
	else echo "tests/browser need chromium and chromedriver: apt-get install chromium chromium-driver fonts-wqy-microhei" >&2; fi

# One pytest worker per core (pytest-xdist); each worker has its own database (tests/conftest.py).
test: install browser
	$(BIN)/python -m pytest -q -p no:cacheprovider -n auto tests

lint: install
	$(BIN)/ruff check app tests bench

migrate: install
	mkdir -p var
	DATABASE_URL='$(RUN_DATABASE_URL)' $(BIN)/flask --app wsgi db upgrade

run: migrate
	@DATABASE_URL='$(RUN_DATABASE_URL)' $(BIN)/flask --app wsgi keys dev-info
	DATABASE_URL='$(RUN_DATABASE_URL)' $(BIN)/gunicorn -c gunicorn.conf.py --bind $(BIND) wsgi:app

bench: install
	$(BIN)/python bench/http_load.py

clean:
	rm -rf var $(STAMP)
