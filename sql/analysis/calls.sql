-- Every mapped call up to the end of the window, of every principal, aggregated over days
-- into the window and the history before it: read once from the mapping stage's
-- observed_actions view (which recomputes the mapping each time it is read). Calls whose
-- (event_source, event_name) has no rule at all come from usage_daily with action NULL,
-- so they are reported (as unexplained or denied), never dropped; calls that need no
-- permission are in neither. $as_of: last day of the window; $window_start: its first day.
CREATE OR REPLACE TEMP TABLE an_calls AS
SELECT o.principal_arn, o.account_id, o.action, o.resource_arn, o.outcome, o.event_source,
       o.event_name, o.day >= $window_start AS in_window,
       sum(o.calls)::BIGINT AS calls, min(o.first_seen) AS first_seen, max(o.last_seen) AS last_seen
FROM observed_actions AS o
WHERE o.day <= $as_of
GROUP BY ALL
UNION ALL
SELECT u.principal_arn, u.account_id, NULL::VARCHAR, u.resource_arn, u.outcome, u.event_source,
       u.event_name, u.day >= $window_start,
       sum(u.calls)::BIGINT, min(u.first_seen), max(u.last_seen)
FROM usage_daily AS u
WHERE u.day <= $as_of
  AND NOT EXISTS (SELECT 1 FROM event_action_rules AS r
                  WHERE r.event_source = u.event_source AND r.event_name = u.event_name)
GROUP BY ALL
