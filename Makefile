# SISO Partners: `make run` starts everything on a fresh Debian machine, `make test` tests it.
TEST_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/test
PYTEST = .venv/bin/python -m pytest

.PHONY: run test test-sqlite test-postgres install install-dev services lint audit

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
	.venv/bin/pip-audit -r requirements.txt --strict
