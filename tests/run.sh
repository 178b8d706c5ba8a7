#!/usr/bin/env bash
# The whole test suite, from nothing: installs PostgreSQL and Redis if missing and starts them
# (idempotently), installs the project with its test tools into .venv/, then runs ruff, mypy,
# `alembic check` on a scratch database and pytest. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

# curl: the README's demo commands are run as written by a test; nginx and openssl: a test runs
# docs/deploy/nginx.conf (with a self-signed certificate) in front of gunicorn; chromium and
# chromium-driver: the admin pages' browser tests.
if ! command -v pg_ctlcluster >/dev/null 2>&1 || ! command -v redis-server >/dev/null 2>&1 \
  || ! command -v curl >/dev/null 2>&1 || ! command -v openssl >/dev/null 2>&1 \
  || ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1 \
  || ! PATH="$PATH:/usr/sbin:/sbin" command -v nginx >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql redis-server curl nginx openssl \
    chromium chromium-driver >/dev/null
fi
pg_isready -h 127.0.0.1 -q || pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
redis-cli ping >/dev/null 2>&1 || redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -q && break; sleep 1; done

# Trust auth for postgres on 127.0.0.1 is the norm here; where a password is demanded, make a
# test role through the Unix socket instead.
pg_admin="postgresql://postgres@127.0.0.1:5432/postgres"
if ! PGCONNECT_TIMEOUT=5 psql "$pg_admin" -w -qtAc 'SELECT 1' >/dev/null 2>&1; then
  su postgres -c "psql -qc \"DO \\\$\\\$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'loyalty_test') THEN CREATE ROLE loyalty_test LOGIN SUPERUSER PASSWORD 'loyalty_test'; END IF; END\\\$\\\$\""
  pg_admin="postgresql://loyalty_test:loyalty_test@127.0.0.1:5432/postgres"
fi
export TEST_PG_ADMIN_URL="${pg_admin/postgresql:/postgresql+psycopg:}"

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]' >.venv/install.log 2>&1 \
  || { cat .venv/install.log; exit 1; }

.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/lint-imports --no-cache >/dev/null || .venv/bin/lint-imports --no-cache

check_db="loyalty_alembic_check_$$"
psql "$pg_admin" -qc "CREATE DATABASE $check_db"
trap 'psql "$pg_admin" -qc "DROP DATABASE IF EXISTS $check_db WITH (FORCE)"' EXIT
export DATABASE_URL="${pg_admin%/postgres}/$check_db"
.venv/bin/alembic -c connector/migrations/alembic.ini upgrade head
.venv/bin/alembic -c connector/migrations/alembic.ini check
unset DATABASE_URL

.venv/bin/python -m pytest -p no:cacheprovider "$@"
