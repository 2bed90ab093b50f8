-- Empty temp table ingest_batch_files: the files of the current batch, with the local path
-- DuckDB reads (a temp copy or a recovered NDJSON for some) and the uri they are kept under.
-- No $parameters.
CREATE OR REPLACE TEMP TABLE ingest_batch_files (
    file_no INTEGER, path VARCHAR, uri VARCHAR
);
