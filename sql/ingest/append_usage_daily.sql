-- usage_daily rows of the batch's new events, appended: the batch's days have no stored
-- rows yet (usage_days_stored.sql), the case of a new database and of a monthly run over
-- new days. One parallel INSERT instead of batch_usage.sql's temp table and
-- merge_usage_daily.sql's MERGE, which runs on one thread. No $parameters.
INSERT INTO usage_daily
    (principal_arn, account_id, event_source, event_name, resource_arn, resource_kind,
     outcome, day, calls, first_seen, last_seen)
SELECT principal_arn, account_id, event_source, event_name, resource_arn, resource_kind,
       outcome, day, calls, first_seen, last_seen
FROM usage_daily_rows('ingest_new');
