-- usage_daily rows of the Athena call groups (athena_groups) into temp table ingest_usage,
-- which ingest/merge_usage_daily merges: the same resource derivation as the local path
-- (macro event_touched_resources, as in usage_daily_rows), with each group's calls summed.
-- No $parameters.
CREATE OR REPLACE TEMP TABLE ingest_usage AS
SELECT principal_arn, account_id, event_source, event_name,
       res.arn AS resource_arn, res.kind AS resource_kind, outcome, day,
       CAST(sum(calls) AS BIGINT) AS calls, min(first_seen) AS first_seen, max(last_seen) AS last_seen
FROM (
    SELECT principal_arn, account_id, event_source, event_name, outcome, day, calls,
           first_seen, last_seen,
           unnest(coalesce(nullif(event_touched_resources(
                      event_source, event_name, resources, request_parameters, account_id, aws_region), []),
                  [{'arn': NULL::VARCHAR, 'kind': NULL::VARCHAR}])) AS res
    FROM athena_groups
)
GROUP BY ALL;
