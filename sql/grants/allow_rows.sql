-- Working table: the identity Allow grants to evaluate, one row per statement x action x
-- resource pattern, with the principal's limit profile ('' when nothing can limit it);
-- a NotResource Allow becomes one row on '*' with its exclusions in own_except.
-- No parameters.
CREATE OR REPLACE TEMP TABLE _allow_rows AS
WITH r AS (
    SELECT DISTINCT principal_arn, action, resource_pattern, []::VARCHAR[] AS own_except,
           conditional, policy_key, stmt_idx
    FROM grants
    WHERE effect = 'Allow' AND NOT not_resource
    UNION ALL
    SELECT principal_arn, action, '*' AS resource_pattern,
           list(DISTINCT resource_pattern ORDER BY resource_pattern) AS own_except,
           bool_or(conditional) AS conditional, policy_key, stmt_idx
    FROM grants
    WHERE effect = 'Allow' AND not_resource
    GROUP BY principal_arn, action, policy_key, stmt_idx
)
SELECT r.*, coalesce(p.profile, '') AS profile
FROM r
LEFT JOIN (SELECT DISTINCT principal_arn, profile FROM _principal_profiles) p
  ON p.principal_arn = r.principal_arn
