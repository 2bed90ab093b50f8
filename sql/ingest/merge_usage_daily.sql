-- Merge the batch's usage rows (ingest_usage) into usage_daily: matching rows add their calls and widen
-- first/last seen, new keys are inserted. Keys may be NULL (no resource, no principal), so
-- they match with IS NOT DISTINCT FROM. No $parameters.
MERGE INTO usage_daily AS u
USING ingest_usage AS b
ON u.day = b.day
   AND u.principal_arn IS NOT DISTINCT FROM b.principal_arn
   AND u.account_id IS NOT DISTINCT FROM b.account_id
   AND u.event_source IS NOT DISTINCT FROM b.event_source
   AND u.event_name IS NOT DISTINCT FROM b.event_name
   AND u.resource_arn IS NOT DISTINCT FROM b.resource_arn
   AND u.resource_kind IS NOT DISTINCT FROM b.resource_kind
   AND u.outcome IS NOT DISTINCT FROM b.outcome
WHEN MATCHED THEN UPDATE SET
    calls = u.calls + b.calls,
    first_seen = least(u.first_seen, b.first_seen),
    last_seen = greatest(u.last_seen, b.last_seen)
WHEN NOT MATCHED THEN INSERT
    (principal_arn, account_id, event_source, event_name, resource_arn, resource_kind,
     outcome, day, calls, first_seen, last_seen)
    VALUES (b.principal_arn, b.account_id, b.event_source, b.event_name, b.resource_arn,
            b.resource_kind, b.outcome, b.day, b.calls, b.first_seen, b.last_seen);
