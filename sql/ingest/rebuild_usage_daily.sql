-- Recompute usage_daily from every stored event (after a change to the resource macro or
-- the outcome rules). No $parameters.
INSERT INTO usage_daily
    (principal_arn, account_id, event_source, event_name, resource_arn, resource_kind,
     outcome, day, calls, first_seen, last_seen)
SELECT principal_arn, account_id, event_source, event_name, resource_arn, resource_kind,
       outcome, day, calls, first_seen, last_seen
FROM usage_daily_rows('events');
