#!/usr/bin/env bash
# A local PostgreSQL for the store tests: installs the Debian package `postgresql` if
# needed, starts a cluster, creates the role and database voicebot_test, and prints the
# URL the tests use (VOICEBOT_TEST_POSTGRES_URL). Idempotent; instant when already up.
set -euo pipefail

ROLE="${VOICEBOT_TEST_PG_ROLE:-voicebot}"
PASSWORD="${VOICEBOT_TEST_PG_PASSWORD:-voicebot}"
DATABASE="${VOICEBOT_TEST_PG_DATABASE:-voicebot_test}"
PORT="${VOICEBOT_TEST_PG_PORT:-5432}"
URL="postgresql+psycopg://${ROLE}:${PASSWORD}@127.0.0.1:${PORT}/${DATABASE}"

ready() {
  command -v psql >/dev/null 2>&1 &&
    PGPASSWORD="$PASSWORD" PGCONNECT_TIMEOUT=3 psql -h 127.0.0.1 -p "$PORT" -U "$ROLE" \
      -d "$DATABASE" -qtAc 'select 1' >/dev/null 2>&1
}

if ready; then
  echo "$URL"
  exit 0
fi

# shellcheck source=scripts/apt-install.sh
source "$(dirname "${BASH_SOURCE[0]}")/apt-install.sh"
need_root "PostgreSQL n'est pas joignable et il faut être root (ou avoir sudo) pour l'installer et le démarrer."

if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "PostgreSQL manque : installez-le (paquet postgresql) puis relancez $0." >&2
    exit 1
  fi
  echo "Installation de PostgreSQL (paquet Debian postgresql)…" >&2
  apt_install postgresql
fi

# The newest installed server version; a cluster "main" of it, created if absent.
version="$(ls /usr/lib/postgresql | sort -V | tail -n 1)"
if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -qx "$version main"; then
  $sudo pg_createcluster "$version" main --port "$PORT" >/dev/null
fi
status="$(pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main" {print $4}')"
if [ "$status" != "online" ]; then
  $sudo pg_ctlcluster "$version" main start
fi
for _ in $(seq 1 60); do
  pg_isready -q -h 127.0.0.1 -p "$PORT" && break
  sleep 0.5
done
pg_isready -q -h 127.0.0.1 -p "$PORT" || {
  echo "PostgreSQL $version ne répond pas sur le port $PORT (voir /var/log/postgresql/)." >&2
  exit 1
}

as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi
}
as_postgres psql -p "$PORT" -v ON_ERROR_STOP=1 -qtA >/dev/null <<SQL
DO \$\$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${ROLE}') THEN
    CREATE ROLE ${ROLE} LOGIN PASSWORD '${PASSWORD}';
  ELSE
    ALTER ROLE ${ROLE} LOGIN PASSWORD '${PASSWORD}';
  END IF;
END
\$\$;
SELECT 'CREATE DATABASE ${DATABASE} OWNER ${ROLE}'
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '${DATABASE}')\gexec
SQL

ready || {
  echo "PostgreSQL tourne mais ${ROLE}@${DATABASE} refuse la connexion (pg_hba.conf ?)." >&2
  exit 1
}
echo "$URL"
