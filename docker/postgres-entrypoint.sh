#!/bin/sh
# Initialise PGDATA on first start (user, password, database from POSTGRES_*), then run postgres
# in the foreground so that it receives the container's SIGTERM (fast, clean shutdown).
set -eu
: "${POSTGRES_USER:=wiredesk}" "${POSTGRES_DB:=wiredesk}"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -z "${POSTGRES_PASSWORD:-}" ]; then
    echo "POSTGRES_PASSWORD must be set to initialise the database" >&2
    exit 1
  fi
  pwfile=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
  initdb --username="$POSTGRES_USER" --pwfile="$pwfile" --auth-host=scram-sha-256 \
    --auth-local=trust --encoding=UTF8 >/dev/null
  rm -f "$pwfile"
  echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
  pg_ctl -o "-c listen_addresses=''" -w start >/dev/null
  if [ "$POSTGRES_DB" != "postgres" ]; then
    createdb --username="$POSTGRES_USER" "$POSTGRES_DB"
  fi
  pg_ctl -m fast -w stop >/dev/null
fi
exec postgres -c listen_addresses='*' "$@"
