-- sessions_daily rows of the batch's new events, into temp table ingest_sessions.
-- No $parameters.
CREATE OR REPLACE TEMP TABLE ingest_sessions AS
SELECT * FROM sessions_daily_rows('ingest_new');
