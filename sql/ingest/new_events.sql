-- The valid records of the batch that are not stored yet, as temp view ingest_new over
-- ingest_rows (events, usage_daily and sessions_daily are all filled from it): rows with
-- no reject or skip reason (duplicates were already removed, drop_duplicates.sql).
-- No $parameters.
CREATE OR REPLACE TEMP VIEW ingest_new AS
SELECT * EXCLUDE (ct_like, skip, reason, snippet, needs_raw)
FROM ingest_rows AS b
WHERE b.reason IS NULL AND b.skip IS NULL;
