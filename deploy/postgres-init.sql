-- Run once by the postgres image on an empty data volume
-- (mounted into /docker-entrypoint-initdb.d by docker-compose.yml).
--
-- Temporal keeps its own databases (`temporal`, `temporal_visibility`, created and
-- migrated by the temporal-schema service, deploy/temporal-schema.sh, as the
-- server's superuser). The app's read model and
-- registry live apart, in database `soporte`, owned by its own login role.
-- Change the password here and in SOPORTE_DATABASE_URL together.

CREATE ROLE soporte WITH LOGIN PASSWORD 'soporte';
CREATE DATABASE soporte OWNER soporte;
REVOKE ALL ON DATABASE soporte FROM PUBLIC;
GRANT ALL PRIVILEGES ON DATABASE soporte TO soporte;
