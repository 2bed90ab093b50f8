-- The database file's size as DuckDB reports it (e.g. '12.5 MiB'). No parameters.
SELECT database_size FROM pragma_database_size() LIMIT 1;
