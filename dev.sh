#!/usr/bin/env bash
# canarywatch's two commands on a fresh machine:
#   ./dev.sh run    install into .venv and run the dashboard (embedded demo database unless DATABASE_URL is set)
#   ./dev.sh test   install into .venv, make sure PostgreSQL and Chromium are there, run the whole test suite
set -euo pipefail
cd "$(dirname "$0")"

VENV=.venv
PY="$VENV/bin/python"

log() { printf '[dev.sh] %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi
}

install_python() {
  if [ ! -x "$PY" ]; then
    log "creating $VENV"
    python3 -m venv "$VENV"
  fi
  local stamp="$VENV/.installed-$(sha1sum pyproject.toml | cut -c1-12)"
  if [ ! -f "$stamp" ]; then
    log "installing Python packages (about a minute on a fresh machine)"
    "$PY" -m pip install --quiet --disable-pip-version-check --upgrade pip
    "$PY" -m pip install --quiet --disable-pip-version-check -e ".[test]"
    rm -f "$VENV"/.installed-* && touch "$stamp"
  fi
}

apt_install() {
  log "installing Debian packages: $*"
  as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

ensure_chromium() {
  [ -x /usr/bin/chromium ] && return 0
  apt_install chromium || log "could not install chromium; the browser tests will say so"
}

pg_up() {
  "$PY" - <<'PYEOF' 2>/dev/null
import os, sys, psycopg
url = os.environ.get("CANARYWATCH_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
try:
    psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), connect_timeout=3).close()
except Exception:
    sys.exit(1)
PYEOF
}

ensure_postgres() {
  pg_up && return 0
  if ! ls /etc/postgresql >/dev/null 2>&1; then
    apt_install postgresql || { log "could not install PostgreSQL"; return 0; }
  fi
  local version
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  log "starting PostgreSQL $version"
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  # a fresh Debian cluster wants a password; trust local TCP connections for the test user
  if ! pg_up; then
    local hba="/etc/postgresql/$version/main/pg_hba.conf"
    if [ -f "$hba" ] && ! grep -q 'canarywatch-test' "$hba"; then
      as_root sed -i '1i host all all 127.0.0.1/32 trust # canarywatch-test' "$hba"
      as_root pg_ctlcluster --skip-systemctl-redirect "$version" main reload || true
    fi
  fi
  for _ in $(seq 1 20); do pg_up && return 0; sleep 0.5; done
  log "PostgreSQL is not reachable; the PostgreSQL tests will fail under CI=true and skip otherwise"
}

case "${1:-}" in
  run)
    shift
    install_python
    exec "$PY" -m ui.serve run app.py "$@"
    ;;
  test)
    shift
    install_python
    ensure_chromium
    ensure_postgres
    exec "$PY" -m pytest "$@"
    ;;
  *)
    echo "usage: ./dev.sh run | ./dev.sh test [pytest args]" >&2
    exit 64
    ;;
esac
