#!/bin/sh
# PostgreSQL's first start in compose.yaml: a login role and a database per Souk service
# ($SOUK_DATABASES), each role owning only its own database. Dev values: one shared password.
set -eu
for name in $SOUK_DATABASES; do
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
       -v name="$name" -v password="$SOUK_DB_PASSWORD" <<'SQL'
CREATE ROLE :"name" LOGIN PASSWORD :'password';
CREATE DATABASE :"name" OWNER :"name";
REVOKE ALL ON DATABASE :"name" FROM PUBLIC;
SQL
done
