-- How many rows a staged temp table ({{table}}: ingest_usage or ingest_sessions) holds.
-- No $parameters.
SELECT count(*) AS n FROM {{table}};
