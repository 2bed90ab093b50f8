-- Refresh table statistics after a large delete (DuckDB's VACUUM). No parameters.
VACUUM;
