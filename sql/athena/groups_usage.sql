-- usage_daily rows of the Athena call groups (athena_groups) into temp table ingest_usage,
-- which ingest/merge_usage_daily merges: the same resource derivation as the local path
-- (macro usage_from_calls, which usage_daily_rows uses too), with each group's calls
-- summed. No $parameters.
CREATE OR REPLACE TEMP TABLE ingest_usage AS
SELECT * FROM usage_from_calls('athena_groups');
