-- The calls of the principals in scope (from an_calls), one row per action, resource,
-- outcome, event and side of the window start, numbered for the coverage join.
-- No parameters.
CREATE OR REPLACE TEMP TABLE an_obs AS
SELECT row_number() OVER () AS obs_id,
       principal_arn, action, resource_arn, outcome, event_source, event_name, in_window,
       sum(calls)::BIGINT AS calls, min(first_seen) AS first_seen, max(last_seen) AS last_seen
FROM an_calls
WHERE principal_arn IN (SELECT principal_arn FROM an_scope)
GROUP BY principal_arn, action, resource_arn, outcome, event_source, event_name, in_window
