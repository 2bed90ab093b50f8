-- Findings: grants that let the principal raise its own or others' privileges.
--   self_modification (critical): change its own permissions or code: iam:Put/Attach
--     (Role|User)Policy or iam:UpdateAssumeRolePolicy on its own ARN,
--     iam:CreatePolicyVersion / SetDefaultPolicyVersion on a customer-managed policy
--     attached to it, lambda:UpdateFunctionCode on its own function (a Lambda role's
--     session names are its functions' names);
--   privilege_escalation (high): the same IAM actions on other principals, iam:PassRole
--     or sts:AssumeRole on any role, lambda:UpdateFunctionCode on any function;
--   broad_secret_access (high): secretsmanager:GetSecretValue on every secret.
-- "Any" means Resource '*' or an ARN whose resource part is '<type>/*'. One step lower
-- when every granting statement has a Condition. One finding per principal and kind,
-- as severe as its most severe action. $window_days: for the title.
INSERT INTO findings
WITH risky AS (
    SELECT * FROM (VALUES
        ('iam:putrolepolicy', 'own'), ('iam:putuserpolicy', 'own'), ('iam:putgrouppolicy', 'other'),
        ('iam:attachrolepolicy', 'own'), ('iam:attachuserpolicy', 'own'), ('iam:attachgrouppolicy', 'other'),
        ('iam:updateassumerolepolicy', 'own'),
        ('iam:createpolicyversion', 'policy'), ('iam:setdefaultpolicyversion', 'policy'),
        ('iam:passrole', 'any'), ('sts:assumerole', 'any'),
        ('lambda:updatefunctioncode', 'function'), ('secretsmanager:getsecretvalue', 'any')
    ) AS t(action_lc, test)
),
own_policies AS (
    SELECT DISTINCT pp.principal_arn, p.policy_arn
    FROM principal_policies AS pp
    JOIN policies AS p ON p.policy_key = pp.policy_key
    WHERE p.kind = 'customer_managed' AND p.policy_arn IS NOT NULL
),
own_functions AS (
    -- Lambda execution roles: each session is named after the function it runs.
    SELECT DISTINCT sd.principal_arn, sd.session_name
    FROM sessions_daily AS sd
    JOIN an_scope AS s USING (principal_arn)
    WHERE CAST(s.trust_policy AS VARCHAR) LIKE '%lambda.amazonaws.com%'
      AND sd.session_name IS NOT NULL
      AND sd.principal_arn IN (SELECT principal_arn FROM an_grants
                               WHERE action_lc = 'lambda:updatefunctioncode')
),
risky_grants AS (
    SELECT g.principal_arn, g.action, g.action_lc, g.resource_pattern, g.conditional,
           g.policy_key, g.stmt_idx, rk.test
    FROM an_grants AS g
    JOIN risky AS rk ON rk.action_lc = g.action_lc
    WHERE g.status = 'allowed' AND g.fits
),
self_policy AS (
    SELECT DISTINCT g.principal_arn, g.action_lc, g.resource_pattern
    FROM risky_grants AS g
    JOIN own_policies AS op ON op.principal_arn = g.principal_arn
    WHERE g.test = 'policy' AND iam_resource_match(g.resource_pattern, op.policy_arn)
),
self_function AS (
    SELECT DISTINCT g.principal_arn, g.action_lc, g.resource_pattern
    FROM risky_grants AS g
    JOIN own_functions AS f ON f.principal_arn = g.principal_arn
    WHERE g.test = 'function'
      AND iam_resource_match(g.resource_pattern,
          'arn:aws:lambda:'
          || coalesce(nullif(regexp_extract(g.resource_pattern, '^arn:[^:]*:lambda:([^:*?]+):', 1), ''), 'us-east-1')
          || ':' || split_part(g.principal_arn, ':', 5) || ':function:' || f.session_name)
),
hits AS (
    SELECT g.*,
           CASE g.test
               WHEN 'own' THEN iam_resource_match(g.resource_pattern, g.principal_arn)
               WHEN 'policy' THEN sp.principal_arn IS NOT NULL
               WHEN 'function' THEN sf.principal_arn IS NOT NULL
               ELSE false
           END AS is_self,
           resource_is_any(g.resource_pattern) AS is_any
    FROM risky_grants AS g
    LEFT JOIN self_policy AS sp USING (principal_arn, action_lc, resource_pattern)
    LEFT JOIN self_function AS sf USING (principal_arn, action_lc, resource_pattern)
),
kept AS (
    SELECT *,
           CASE
               WHEN is_self THEN 'self_modification'
               WHEN action_lc = 'secretsmanager:getsecretvalue' THEN 'broad_secret_access'
               ELSE 'privilege_escalation'
           END AS kind
    FROM hits
    WHERE is_self OR is_any OR test IN ('own', 'other', 'policy')
),
per_action AS (
    SELECT k.principal_arn, k.kind, min(k.action) AS action, k.action_lc,
           list(DISTINCT k.resource_pattern ORDER BY k.resource_pattern) AS patterns,
           list(DISTINCT k.policy_key ORDER BY k.policy_key) AS policy_keys,
           bool_and(k.conditional) AS conditional
    FROM kept AS k GROUP BY k.principal_arn, k.kind, k.action_lc
),
scored AS (
    SELECT a.*, r.status, coalesce(r.calls, 0) AS calls, r.first_seen, r.last_seen,
           coalesce(r.resources, []) AS resources, coalesce(e.event_ids, []) AS event_ids,
           CASE WHEN a.conditional
                THEN severity_lower(CASE a.kind WHEN 'self_modification' THEN 'critical' ELSE 'high' END)
                ELSE CASE a.kind WHEN 'self_modification' THEN 'critical' ELSE 'high' END END AS severity
    FROM per_action AS a
    LEFT JOIN (SELECT * FROM role_action_status
               WHERE lower(action) IN (SELECT action_lc FROM risky)
                 AND status IN ('used', 'unused', 'never_needed', 'unobservable')) AS r
      ON r.principal_arn = a.principal_arn AND lower(r.action) = a.action_lc
    LEFT JOIN an_action_events AS e
      ON e.principal_arn = a.principal_arn AND e.action_lc = a.action_lc AND e.outcome = 'ok'
)
-- One finding per principal and kind, listing the actions; the most severe one sets it.
SELECT principal_arn, kind,
       arg_min(severity, severity_rank(severity)),
       format('{} {}{}',
              CASE kind WHEN 'self_modification' THEN 'Can modify itself:'
                        WHEN 'broad_secret_access' THEN 'Reads every secret:'
                        ELSE 'Privilege escalation:' END,
              array_to_string(list(action || ' on ' || array_to_string(patterns, ', ') ORDER BY action)[1:4], '; ')
              || CASE WHEN count(*) > 4 THEN format(' and {} more', count(*) - 4) ELSE '' END,
              CASE WHEN bool_or(status = 'used')
                   THEN format(' (used in the last {} days: {})', $window_days,
                               array_to_string(list(action ORDER BY action) FILTER (WHERE status = 'used'), ', '))
                   ELSE format(' (not used in the last {} days)', $window_days) END),
       format('{} {}',
              CASE kind
                  WHEN 'self_modification' THEN 'The principal can change its own permissions or code, so any input that steers it can widen its own access.'
                  WHEN 'broad_secret_access' THEN 'Every secret of the account is readable; scope it to the secrets the calls used.'
                  ELSE 'It can hand itself or another workload more privileges than this role has.' END,
              CASE WHEN bool_and(coalesce(status, '') <> 'used')
                   THEN 'None of these was used in the window: remove them.'
                   ELSE 'Keep only the used ones, scoped to the resources they touched.' END),
       json_object('actions',
                   list(json_object('action', action, 'resource_patterns', patterns,
                                    'policy_keys', policy_keys, 'conditional', conditional,
                                    'severity', severity, 'status', coalesce(status, 'not_classified'),
                                    'calls', calls, 'first_seen', iso_ts(first_seen),
                                    'last_seen', iso_ts(last_seen), 'resources', resources)
                        ORDER BY action),
                   'event_ids', list_sort(list_distinct(flatten(list(event_ids))))[1:5])
FROM scored
GROUP BY principal_arn, kind
