# Firefly: `make test` runs the whole suite, `make run` serves the API on http://127.0.0.1:8000.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.firefly-installed
# `make run` serves this database unless DATABASE_URL is set; `make test` makes its own.
RUN_DATABASE_URL := $(or $(DATABASE_URL),sqlite:///$(CURDIR)/var/firefly.db)
BIND   ?= 127.0.0.1:8000

.PHONY: install browser proxy test faults lint run migrate bench clean

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

# tests/faults/test_nginx.py serves the API through deploy/nginx.conf: Debian's nginx, installed here
# when missing and we may.
proxy:
	@command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get install -y -q nginx-light >/dev/null || \
		{ apt-get update -q >/dev/null && apt-get install -y -q nginx-light >/dev/null; }; \
	else echo "tests/faults/test_nginx.py needs nginx: apt-get install nginx-light" >&2; fi

# The whole suite: one pytest worker per core (pytest-xdist), each worker on its own database
# (tests/conftest.py), then the slow fault suite on its own servers.
test: install browser proxy
	$(BIN)/python -m pytest -q -p no:cacheprovider -n auto -m "not slow_fault" tests
	$(MAKE) --no-print-directory faults

# The slow fault-injection suite alone (`make test` runs it last): its own PostgreSQL cluster and Redis, a real gunicorn under load
# through kill -9, PostgreSQL and Redis restarts and hostile reloads; prints its figures.
faults: install
	$(BIN)/python -m pytest -q -p no:cacheprovider -n 0 -s -m slow_fault tests/faults

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
