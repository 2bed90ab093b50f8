-- DuckDB dialect shim for the Athena queries: Trino's regexp_like(string, pattern).
-- Created only on the connection that runs the Athena SQL locally. No $parameters.
CREATE OR REPLACE TEMP MACRO regexp_like(s, p) AS regexp_matches(s, p);
