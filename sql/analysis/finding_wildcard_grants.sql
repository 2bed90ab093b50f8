-- Findings: Allow statements with a wildcard action ('*', 'service:*') or NotAction,
-- used or not. Severity: '*' on Resource '*' critical; '*' on narrower resources,
-- 'service:*' or NotAction on Resource '*' high; 'service:*' or NotAction on narrower
-- resources medium; one step lower when the statement has a Condition.
-- $window_days: the window length, for the title.
INSERT INTO findings
WITH st AS (
    SELECT DISTINCT pp.principal_arn, st.policy_key, st.stmt_idx, st.sid, st.actions,
           st.not_actions, st.resources, st.not_resources, st.conditions IS NOT NULL AS conditional,
           coalesce(p.name, st.policy_key) AS policy_name
    FROM principal_policies AS pp
    JOIN an_scope AS s USING (principal_arn)
    JOIN statements AS st ON st.policy_key = pp.policy_key
    LEFT JOIN policies AS p ON p.policy_key = st.policy_key
    WHERE st.effect = 'Allow' AND pp.via NOT IN ('boundary', 'scp')
),
wild AS (
    SELECT principal_arn, policy_key, stmt_idx, sid, resources, not_resources, conditional,
           policy_name, pattern, false AS is_not_action
    FROM (SELECT *, unnest(actions) AS pattern FROM st)
    WHERE pattern = '*' OR regexp_full_match(pattern, '[A-Za-z0-9-]+:\*')
    UNION ALL
    SELECT principal_arn, policy_key, stmt_idx, sid, resources, not_resources, conditional,
           policy_name, 'NotAction ' || array_to_string(not_actions, ', '), true
    FROM st WHERE len(coalesce(not_actions, [])) > 0
),
expanded AS (
    SELECT w.principal_arn, w.policy_key, w.stmt_idx, w.pattern,
           count(DISTINCT g.action_lc) AS granted,
           list(DISTINCT r.action ORDER BY r.action) FILTER (WHERE r.status = 'used') AS used_actions,
           coalesce(sum(r.calls) FILTER (WHERE r.status = 'used'), 0) AS used_calls,
           list(DISTINCT r.action ORDER BY r.action) FILTER (WHERE r.status = 'unused') AS unused_actions
    FROM wild AS w
    JOIN an_grants AS g
      ON g.principal_arn = w.principal_arn AND g.policy_key = w.policy_key AND g.stmt_idx = w.stmt_idx
     AND (w.is_not_action OR iam_action_match(w.pattern, g.action_lc))
    LEFT JOIN role_action_status AS r
      ON r.principal_arn = g.principal_arn AND lower(r.action) = g.action_lc
     AND r.status IN ('used', 'unused')
    GROUP BY ALL
),
ev AS (
    SELECT e.principal_arn, w.policy_key, w.stmt_idx, w.pattern,
           list_sort(list_distinct(flatten(list(e.event_ids))))[1:5] AS event_ids
    FROM wild AS w
    JOIN an_grants AS g
      ON g.principal_arn = w.principal_arn AND g.policy_key = w.policy_key AND g.stmt_idx = w.stmt_idx
     AND (w.is_not_action OR iam_action_match(w.pattern, g.action_lc))
    JOIN an_action_events AS e
      ON e.principal_arn = g.principal_arn AND e.action_lc = g.action_lc AND e.outcome = 'ok'
    GROUP BY ALL
),
scored AS (
    SELECT w.*, x.granted, coalesce(x.used_actions, []) AS used_actions, x.used_calls,
           coalesce(x.unused_actions, []) AS unused_actions, coalesce(ev.event_ids, []) AS event_ids,
           list_contains(w.resources, '*') OR len(coalesce(w.not_resources, [])) > 0 AS on_any,
           CASE
               WHEN w.pattern = '*' AND (list_contains(w.resources, '*') OR len(coalesce(w.not_resources, [])) > 0) THEN 'critical'
               WHEN w.pattern = '*' THEN 'high'
               WHEN list_contains(w.resources, '*') OR len(coalesce(w.not_resources, [])) > 0 THEN 'high'
               ELSE 'medium'
           END AS base_severity
    FROM wild AS w
    JOIN expanded AS x USING (principal_arn, policy_key, stmt_idx, pattern)
    LEFT JOIN ev USING (principal_arn, policy_key, stmt_idx, pattern)
)
SELECT principal_arn, 'wildcard_grant',
       CASE WHEN conditional THEN severity_lower(base_severity) ELSE base_severity END,
       format('Wildcard grant {} on {}: {} of {} actions used in the last {} days',
              pattern,
              CASE WHEN len(coalesce(not_resources, [])) > 0
                   THEN 'NotResource ' || array_to_string(not_resources, ', ')
                   ELSE array_to_string(resources, ', ') END,
              len(used_actions), granted, $window_days),
       format('Statement {} of policy {} grants {} actions through {}{}. {}',
              coalesce(sid, '#' || stmt_idx), policy_name, granted, pattern,
              CASE WHEN conditional THEN ' (under a Condition)' ELSE '' END,
              CASE WHEN len(used_actions) = 0
                   THEN 'None of them was used in the window: the statement can go.'
                   ELSE format('Only {} used in the window; grant those instead.',
                               array_to_string(used_actions[1:10], ', ')
                               || CASE WHEN len(used_actions) > 10 THEN ', ...' ELSE '' END) END),
       json_object('policy_key', policy_key, 'policy_name', policy_name, 'stmt_idx', stmt_idx,
                   'sid', sid, 'pattern', pattern, 'resources', resources,
                   'not_resources', coalesce(not_resources, []), 'conditional', conditional,
                   'granted_actions', granted, 'used_actions', used_actions,
                   'used_calls', used_calls, 'unused_actions', unused_actions,
                   'event_ids', event_ids)
FROM scored
