#!/bin/sh
# One-shot schema setup of Temporal's two PostgreSQL databases, run by the
# `temporal-schema` service (image temporalio/admin-tools) before the server starts.
#
# Idempotent, so it runs on every `docker compose up`: `create` accepts a database that
# exists, `setup-schema -v 0.0` keeps a schema already past 0.0, and `update-schema`
# applies only the versions the database lacks (the upgrade path of a new server image).
set -eu

: "${POSTGRES_SEEDS:?POSTGRES_SEEDS: the PostgreSQL host}"
: "${DB_PORT:?DB_PORT: the PostgreSQL port}"
: "${POSTGRES_USER:?POSTGRES_USER: the role that owns Temporal databases}"
: "${SQL_PASSWORD:?SQL_PASSWORD: its password (temporal-sql-tool reads it from the environment)}"
: "${DBNAME:?DBNAME: the default store database}"
: "${VISIBILITY_DBNAME:?VISIBILITY_DBNAME: the visibility store database}"
SCHEMA_DIR="${SCHEMA_DIR:-/etc/temporal/schema/postgresql/v12}"

# Connection flags are the tool's global ones, before the command: `create` takes only
# --defaultdb (empty: it connects to `postgres`, which POSTGRES_DB makes sure exists).
sql_tool() {
  target="$1"
  shift
  temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "$DB_PORT" \
    -u "$POSTGRES_USER" --db "$target" "$@"
}

setup() {
  database="$1"
  schema="$2"
  echo "temporal-schema: database $database, schema $SCHEMA_DIR/$schema"
  sql_tool "$database" create
  sql_tool "$database" setup-schema -v 0.0
  sql_tool "$database" update-schema -d "$SCHEMA_DIR/$schema/versioned"
}

setup "$DBNAME" temporal
setup "$VISIBILITY_DBNAME" visibility
echo "temporal-schema: both databases are up to date"
