-- usage_daily rows of the batch's new events, into temp table ingest_usage (merged next;
-- computed apart because MERGE cannot bind the resource macro inside its USING clause).
-- No $parameters.
CREATE OR REPLACE TEMP TABLE ingest_usage AS
SELECT * FROM usage_daily_rows('ingest_new');
