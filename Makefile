# Two commands on a fresh clone (Python 3.11+):  make run   and   make test
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app wsgi
PORT   ?= 5000
# The PostgreSQL server the second test run uses (each run creates and drops its own database).
TEST_POSTGRES_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/postgres

.PHONY: run test bench install install-test translations messages secret lint check-python

check-python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "permits needs Python 3.11 or newer (set PYTHON=...)")'

$(BIN)/python: | check-python
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: setup.cfg setup.py pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	@touch $@

$(VENV)/.installed-test: setup.cfg setup.py pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

# Compiled catalogues are built, not committed: the package build (setup.py) compiles them too.
translations: $(VENV)/.installed
	@$(BIN)/pybabel compile --statistics -d permits/translations

# Re-extract the strings after changing texts; then translate the new ones in the .po file.
messages: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o permits/translations/messages.pot .
	$(BIN)/pybabel update -i permits/translations/messages.pot -d permits/translations

# A random SECRET_KEY in instance/, made once and readable only by its owner.
secret:
	@mkdir -p instance
	@test -s instance/secret_key || (umask 077 && $(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(48))' > instance/secret_key)

run: install translations secret
	$(FLASK) db upgrade
	$(FLASK) demo --url http://127.0.0.1:$(PORT)
	$(FLASK) run --host 127.0.0.1 --port $(PORT)

lint: install-test
	$(BIN)/ruff check permits tests bench
	$(BIN)/mypy

# Every test on SQLite, then again on PostgreSQL when it is reachable
# (PERMITS_TEST_REQUIRE_POSTGRES=1, as CI sets it, makes an unreachable server an error).
test: install-test translations lint
	$(BIN)/pytest
	@if $(BIN)/python -c "import sqlalchemy as sa; sa.create_engine('$(TEST_POSTGRES_URL)').connect().close()" 2>/dev/null; then \
		echo "== the same suite on PostgreSQL =="; \
		PERMITS_TEST_DATABASE_URL='$(TEST_POSTGRES_URL)' $(BIN)/pytest; \
	elif [ "$$PERMITS_TEST_REQUIRE_POSTGRES" = "1" ]; then \
		echo "PostgreSQL is not reachable at $(TEST_POSTGRES_URL)"; exit 1; \
	else \
		echo "== PostgreSQL not reachable at $(TEST_POSTGRES_URL): skipped the second run =="; \
	fi

# Benchmarks (scripts, not tests): every script in bench/ runs, and docs/performance.md is
# rewritten with their figures, the machine and the versions. BENCH_SCALE=0.02 for a quick run
# of the city-sized one (bench/seed.py); BENCH_ONLY="bench_scale" reruns only those sections.
BENCH_DATABASE ?= $(TEST_POSTGRES_URL)
BENCH_SCALE ?= 1.0
bench: install-test translations
	$(BIN)/python bench/report.py --database '$(BENCH_DATABASE)' --scale $(BENCH_SCALE) $(if $(BENCH_ONLY),--only $(BENCH_ONLY))
