-- Findings: write or permissions-management actions that can be scoped to resources but
-- are granted on Resource '*' (actions a wildcard-action statement grants are reported
-- by wildcard_grant instead). Severity: high with a permissions-management action,
-- else medium; one step lower under a Condition. The observed resources say how far
-- the grant could be narrowed. No parameters.
INSERT INTO findings
WITH st AS (
    SELECT DISTINCT pp.principal_arn, st.policy_key, st.stmt_idx, st.sid, st.actions,
           st.conditions IS NOT NULL AS conditional, coalesce(p.name, st.policy_key) AS policy_name
    FROM principal_policies AS pp
    JOIN an_scope AS s USING (principal_arn)
    JOIN statements AS st ON st.policy_key = pp.policy_key
    LEFT JOIN policies AS p ON p.policy_key = st.policy_key
    WHERE st.effect = 'Allow' AND pp.via NOT IN ('boundary', 'scp')
      AND list_contains(st.resources, '*')
      AND len(coalesce(st.not_actions, [])) = 0
),
acts AS (
    SELECT st.principal_arn, st.policy_key, st.stmt_idx, st.sid, st.conditional, st.policy_name,
           g.action, ca.access_level,
           r.status, coalesce(r.calls, 0) AS calls, coalesce(r.resources, []) AS seen
    FROM st
    JOIN an_grants AS g
      ON g.principal_arn = st.principal_arn AND g.policy_key = st.policy_key
     AND g.stmt_idx = st.stmt_idx AND g.resource_pattern = '*' AND g.status = 'allowed'
    JOIN catalog_actions AS ca ON ca.action_lc = g.action_lc
    LEFT JOIN role_action_status AS r
      ON r.principal_arn = g.principal_arn AND lower(r.action) = g.action_lc
     AND r.status IN ('used', 'unused', 'never_needed', 'unobservable')
    WHERE ca.access_level IN ('Write', 'Permissions management')
      AND len(ca.resource_types) > 0
      AND len([a FOR a IN st.actions
               IF (a = '*' OR regexp_full_match(a, '[A-Za-z0-9-]+:\*')) AND iam_action_match(a, g.action_lc)]) = 0
      -- granted by a name or pattern that asks for writing: an action the catalog calls
      -- Write but that only a read-verb wildcard (Get*, List*, Describe*) reaches is the
      -- catalog's label, not the author's intent (AWS's ReadOnlyAccess is full of them)
      AND len([a FOR a IN st.actions
               IF iam_action_match(a, g.action_lc)
                  AND NOT regexp_full_match(split_part(a, ':', 2),
                          '(?i)(get|list|describe|view|search|lookup|query|batchget|read|scan|select)[a-z0-9]*\*')]) > 0
)
SELECT principal_arn, 'resource_wildcard_write',
       CASE WHEN conditional THEN severity_lower(sev) ELSE sev END,
       format('{} write action(s) on Resource "*" in policy {}: {}', n, policy_name,
              array_to_string(actions[1:5], ', ') || CASE WHEN n > 5 THEN ', ...' ELSE '' END),
       format('Statement {} of policy {} allows {} on every resource{}. {}',
              coalesce(sid, '#' || stmt_idx), policy_name, array_to_string(actions, ', '),
              CASE WHEN conditional THEN ' (under a Condition)' ELSE '' END,
              CASE WHEN len(seen) = 0 THEN 'None of them touched a known resource in the window.'
                   ELSE format('The calls in the window touched only: {}.',
                               array_to_string(seen[1:10], ', ') || CASE WHEN len(seen) > 10 THEN ', ...' ELSE '' END) END),
       json_object('policy_key', policy_key, 'policy_name', policy_name, 'stmt_idx', stmt_idx, 'sid', sid,
                   'actions', actions, 'used_actions', used_actions,
                   'permissions_management', pm_actions, 'conditional', conditional,
                   'observed_resources', seen)
FROM (
    SELECT principal_arn, policy_key, stmt_idx, sid, conditional, policy_name,
           count(*) AS n,
           list(action ORDER BY action) AS actions,
           list(action ORDER BY action) FILTER (WHERE status = 'used') AS used_actions,
           coalesce(list(action ORDER BY action) FILTER (WHERE access_level = 'Permissions management'), []) AS pm_actions,
           list_sort(list_distinct(flatten(list(seen) FILTER (WHERE status = 'used')))) AS seen,
           CASE WHEN bool_or(access_level = 'Permissions management') THEN 'high' ELSE 'medium' END AS sev
    FROM (SELECT DISTINCT * FROM acts)
    GROUP BY ALL
)
