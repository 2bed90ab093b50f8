-- DuckDB dialect shim for the Athena queries: Trino's json_format(json) -> VARCHAR. DuckDB
-- casts a struct to a JSON object, Trino a ROW to a positional array; stage_groups.sql reads
-- both forms. No $parameters.
CREATE OR REPLACE TEMP MACRO json_format(j) AS CAST(j AS VARCHAR);
