-- usage_daily rows of the events in {{events}} (a table or view shaped like events),
-- inserted as they are: by rebuild_aggregates over `events` after clear_usage_daily.sql,
-- and by ingest over the batch (`ingest_new`) when usage_daily has no row on the batch's
-- days yet (usage_days_stored.sql), the case of a new database and of a monthly run over
-- new days: one parallel INSERT instead of batch_usage.sql's temp table and
-- merge_usage_daily.sql's MERGE, which runs on one thread. No $parameters.
INSERT INTO usage_daily
    (principal_arn, account_id, event_source, event_name, resource_arn, resource_kind,
     outcome, day, calls, first_seen, last_seen)
SELECT principal_arn, account_id, event_source, event_name, resource_arn, resource_kind,
       outcome, day, calls, first_seen, last_seen
FROM usage_daily_rows('{{events}}');
