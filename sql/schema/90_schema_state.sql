-- Which schema the database has: the fingerprint of the schema files (and the DuckDB
-- version) that last ran on it. connect() skips the schema files when it matches, since
-- every table and macro they define is already in the file (running them cost ~0.3 s on
-- every command). No $parameters. Idempotent.
CREATE TABLE IF NOT EXISTS schema_state (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    fingerprint VARCHAR NOT NULL,
    applied_at  TIMESTAMP NOT NULL
);
