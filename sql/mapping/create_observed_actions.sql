-- View observed_actions: usage_daily joined with event_action_rules, one row per
-- (principal, account, action, resource, outcome, day) with the calls that needed it.
-- Which of a call's resources an action applies to:
--   * a rule naming a resource_kind takes the rows of that kind (CopyObject's s3:GetObject
--     takes the copy_source row; iam:PassRole the passed_role row);
--   * a rule without one takes the rows whose ARN fits one of the action's catalog ARN
--     templates, except rows another rule of the call claims by kind and rows whose kind is
--     not the call's own resource (mapping_resource_kinds.own_resource = false);
--   * an unconditional rule with no fitting row still counts, with resource_arn NULL, so an
--     action is never lost because CloudTrail did not name its resource. Conditional rules
--     (when_param) count only where ingest found the condition (a row of their kind).
--   * iam:PassRole through an instance profile (RunInstances and friends) is checked
--     against the profile's role: the profile ARN is resolved through instance_profiles
--     (from the IAM load); an unknown profile leaves the resource NULL (role unknown), so
--     no recommendation is ever scoped to the profile ARN itself.
-- `calls` is per (action, resource); a call group without a fitting resource counts the most
-- calls of any of its rows. No parameters.
CREATE OR REPLACE VIEW observed_actions AS
WITH u AS (
    SELECT d.principal_arn, d.account_id, d.event_source, d.event_name,
           CASE WHEN d.resource_kind = 'passed_role_profile'
                THEN (SELECT min(ip.role_arn) FROM instance_profiles ip
                      WHERE ip.profile_arn = d.resource_arn)
                ELSE d.resource_arn END AS resource_arn,
           d.resource_kind, d.outcome, d.day, d.calls, d.first_seen, d.last_seen
    FROM usage_daily d
),
r AS (
    SELECT event_source, event_name, action, resource_kind, when_param, rule
    FROM event_action_rules WHERE action IS NOT NULL
),
claimed AS (
    SELECT DISTINCT event_source, event_name, resource_kind
    FROM event_action_rules WHERE resource_kind IS NOT NULL
),
by_kind AS (
    SELECT u.principal_arn, u.account_id, r.action, u.resource_arn, u.outcome, u.day, u.calls,
           u.first_seen, u.last_seen, u.event_source, u.event_name, r.rule
    FROM u JOIN r ON r.event_source = u.event_source AND r.event_name = u.event_name
                 AND r.resource_kind = u.resource_kind
),
by_template AS (
    SELECT u.principal_arn, u.account_id, r.action, u.resource_arn, u.outcome, u.day, u.calls,
           u.first_seen, u.last_seen, u.event_source, u.event_name, r.rule
    FROM u
    JOIN r ON r.event_source = u.event_source AND r.event_name = u.event_name AND r.resource_kind IS NULL
    LEFT JOIN mapping_resource_kinds k ON k.kind = u.resource_kind
    WHERE u.resource_arn IS NOT NULL
      AND coalesce(k.own_resource, TRUE)
      AND NOT EXISTS (SELECT 1 FROM claimed c
                      WHERE c.event_source = u.event_source AND c.event_name = u.event_name
                        AND c.resource_kind = u.resource_kind)
      AND EXISTS (SELECT 1 FROM mapping_arn_patterns ap
                  WHERE ap.action = r.action AND regexp_full_match(u.resource_arn, ap.arn_regex))
),
hits AS (
    SELECT principal_arn, account_id, action, resource_arn, outcome, day, max(calls) AS calls,
           min(first_seen) AS first_seen, max(last_seen) AS last_seen, event_source, event_name,
           min(rule) AS rule
    FROM (SELECT * FROM by_kind UNION ALL SELECT * FROM by_template)
    GROUP BY principal_arn, account_id, action, resource_arn, outcome, day, event_source, event_name
),
groups AS (
    SELECT principal_arn, account_id, event_source, event_name, outcome, day,
           max(calls) AS calls, min(first_seen) AS first_seen, max(last_seen) AS last_seen
    FROM u GROUP BY principal_arn, account_id, event_source, event_name, outcome, day
),
fallback AS (
    SELECT g.principal_arn, g.account_id, r.action, NULL::VARCHAR AS resource_arn, g.outcome, g.day,
           g.calls, g.first_seen, g.last_seen, g.event_source, g.event_name, min(r.rule) AS rule
    FROM groups g
    JOIN r ON r.event_source = g.event_source AND r.event_name = g.event_name AND r.when_param IS NULL
    WHERE NOT EXISTS (SELECT 1 FROM hits h
                      WHERE h.principal_arn IS NOT DISTINCT FROM g.principal_arn
                        AND h.account_id IS NOT DISTINCT FROM g.account_id
                        AND h.event_source = g.event_source AND h.event_name = g.event_name
                        AND h.outcome IS NOT DISTINCT FROM g.outcome AND h.day = g.day
                        AND h.action = r.action)
    GROUP BY ALL
)
SELECT principal_arn, account_id, action, resource_arn, outcome, day, calls, first_seen, last_seen,
       event_source, event_name, rule
FROM hits
UNION ALL
SELECT principal_arn, account_id, action, resource_arn, outcome, day, calls, first_seen, last_seen,
       event_source, event_name, rule
FROM fallback
