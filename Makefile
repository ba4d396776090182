# SISO Partners: `make run` starts everything on a fresh Debian machine, `make test` tests it.
TEST_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/test
PYTEST = .venv/bin/python -m pytest

.PHONY: run test test-sqlite test-postgres install install-dev services lint audit lock

run:
	scripts/run.sh

install:
	scripts/install.sh run

install-dev:
	scripts/install.sh dev

services:
	scripts/services.sh

## The whole suite on SQLite, then again on PostgreSQL.
test: install-dev services
	$(PYTEST)
	TEST_DATABASE_URL=$(TEST_DATABASE_URL) $(PYTEST)

test-sqlite: install-dev services
	$(PYTEST)

test-postgres: install-dev services
	TEST_DATABASE_URL=$(TEST_DATABASE_URL) $(PYTEST)

## Known vulnerabilities in the pinned dependencies (needs a reachable advisory database).
audit: install-dev
	.venv/bin/pip install -q pip-audit
	.venv/bin/pip-audit -r requirements.lock --require-hashes --strict

## Resolve requirements.txt and requirements-dev.txt (the pins people edit) into the lock files
## with hashes that scripts/install.sh, CI and the Dockerfile install from (markers kept, so
## one lock serves every Python 3.11 machine). Run after changing a pin; commit all four.
UV_LOCK = .venv/bin/uv pip compile --quiet --generate-hashes --universal --python-version 3.11 \
	--custom-compile-command "make lock"
lock: install-dev
	$(UV_LOCK) requirements.txt -o requirements.lock
	$(UV_LOCK) requirements-dev.txt -o requirements-dev.lock
