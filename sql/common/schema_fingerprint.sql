-- The schema fingerprint recorded in the database (schema/90_schema_state.sql); fails
-- when the table does not exist yet (a database from before it). No $parameters.
SELECT fingerprint FROM schema_state;
