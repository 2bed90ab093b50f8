-- Working table: identity-policy Deny statements meeting an Allow row of the same
-- principal and action (usually few, so joined per principal). No parameters.
CREATE OR REPLACE TEMP TABLE _identity_checks AS
WITH d AS (
    SELECT DISTINCT principal_arn, action, policy_key, stmt_idx, conditional
    FROM grants
    WHERE effect = 'Deny'
)
SELECT DISTINCT a.principal_arn, a.action, a.resource_pattern,
       d.policy_key AS c_key, d.stmt_idx AS c_idx, d.conditional AS c_conditional
FROM _allow_rows a
JOIN d ON d.principal_arn = a.principal_arn AND d.action = a.action
