-- Successful calls in the window that no modelled allowed grant covers (action and
-- resource): a resource-based policy, a session policy, IAM data older than the calls,
-- or a mapping gap (calls with no mapping rule, named after their event). No parameters.
INSERT INTO role_action_status (principal_arn, action, status, calls, first_seen, last_seen, resources, why)
WITH u AS (
    SELECT o.*,
           coalesce(o.action, split_part(o.event_source, '.', 1) || ':' || o.event_name) AS label,
           split_part(o.event_source, '.', 1) || ':' || o.event_name AS via
    FROM an_obs AS o
    WHERE o.outcome = 'ok' AND o.in_window
      AND o.obs_id NOT IN (SELECT obs_id FROM an_covered)
),
per_event AS (
    SELECT principal_arn, label, via, sum(calls) AS calls FROM u GROUP BY ALL
),
vias AS (
    SELECT principal_arn, label,
           array_to_string(list(via || ' x' || calls ORDER BY calls DESC, via)[1:5], ', ') AS via
    FROM per_event GROUP BY ALL
),
grant_state AS (
    SELECT principal_arn, action_lc,
           bool_or(status = 'allowed' AND fits) AS allowed,
           string_agg(DISTINCT CASE WHEN status = 'allowed' AND fits THEN resource_pattern END, ', '
                      ORDER BY CASE WHEN status = 'allowed' AND fits THEN resource_pattern END) AS patterns,
           string_agg(DISTINCT CASE WHEN status = 'blocked' THEN reason END, '; ') AS blocked
    FROM an_grants
    WHERE (principal_arn, action_lc) IN (SELECT DISTINCT principal_arn, lower(action) FROM u)
    GROUP BY ALL
)
SELECT u.principal_arn, u.label, 'unexplained', sum(u.calls)::BIGINT, min(u.first_seen), max(u.last_seen),
       list_sort(list_distinct(list(u.resource_arn))),
       format('{} successful call(s) in the window ({}) that the modelled grants do not cover: {}',
              sum(u.calls), any_value(v.via),
              CASE
                  WHEN bool_and(u.action IS NULL) THEN 'no mapping rule for this event (a mapping gap)'
                  WHEN any_value(gs.allowed) THEN format('the action is granted only on {}, not on the resources touched (a resource-based or session policy, or IAM data older than the calls?)', any_value(gs.patterns))
                  WHEN any_value(gs.blocked) IS NOT NULL THEN format('the grant is blocked ({}) yet the calls succeeded (a resource-based policy, or IAM data older than the calls?)', any_value(gs.blocked))
                  ELSE 'no identity policy grants the action (a resource-based or session policy, or IAM data older than the calls?)'
              END)
FROM u
JOIN vias AS v ON v.principal_arn = u.principal_arn AND v.label = u.label
LEFT JOIN grant_state AS gs ON gs.principal_arn = u.principal_arn AND gs.action_lc = lower(u.action)
GROUP BY u.principal_arn, u.label
