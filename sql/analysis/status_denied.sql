-- Calls in the window that failed for lack of permission (outcome 'denied'), per
-- principal and action, whether or not the action is granted: what the principal
-- tried beyond its scope. Calls with no mapping rule are named after their event
-- (service prefix:EventName). No parameters (an_obs already holds the window).
INSERT INTO role_action_status (principal_arn, action, status, calls, first_seen, last_seen, resources, why)
WITH d AS (
    SELECT o.*,
           coalesce(o.action, split_part(o.event_source, '.', 1) || ':' || o.event_name) AS label,
           split_part(o.event_source, '.', 1) || ':' || o.event_name AS via
    FROM an_obs AS o
    WHERE o.outcome = 'denied' AND o.in_window
),
per_event AS (
    SELECT principal_arn, label, via, sum(calls) AS calls FROM d GROUP BY ALL
),
vias AS (
    SELECT principal_arn, label,
           array_to_string(list(via || ' x' || calls ORDER BY calls DESC, via)[1:5], ', ') AS via
    FROM per_event GROUP BY ALL
),
grant_state AS (
    SELECT principal_arn, action_lc,
           bool_or(status = 'allowed') AS allowed,
           string_agg(DISTINCT CASE WHEN status = 'blocked' THEN reason END, '; ') AS blocked
    FROM an_grants
    WHERE (principal_arn, action_lc) IN (SELECT DISTINCT principal_arn, lower(action) FROM d)
    GROUP BY ALL
)
SELECT d.principal_arn, d.label, 'denied', sum(d.calls)::BIGINT, min(d.first_seen), max(d.last_seen),
       list_sort(list_distinct(list(d.resource_arn))),
       format('{} call(s) denied in the window ({}); {}', sum(d.calls), any_value(v.via),
              CASE
                  WHEN bool_and(d.action IS NULL) THEN 'no mapping rule names the action these calls need'
                  WHEN any_value(gs.allowed) THEN 'the action is granted, so a condition, a resource the grant does not cover, an SCP, a boundary, a session policy or a resource policy refused it'
                  WHEN any_value(gs.blocked) IS NOT NULL THEN format('the grant is blocked ({})', any_value(gs.blocked))
                  ELSE 'the action is not granted'
              END)
FROM d
JOIN vias AS v ON v.principal_arn = d.principal_arn AND v.label = d.label
LEFT JOIN grant_state AS gs ON gs.principal_arn = d.principal_arn AND gs.action_lc = lower(d.action)
GROUP BY d.principal_arn, d.label
