-- Restore DuckDB's default insertion-order preservation after an ingest run that had it
-- on before (see unordered_inserts.sql). No $parameters.
SET preserve_insertion_order = true;
