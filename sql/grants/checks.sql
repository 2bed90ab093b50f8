-- Working table: for each distinct (limit profile, action, Allow resource pattern),
-- every boundary or SCP statement of the profile that can limit it (their Denies and
-- their Allows). No parameters.
CREATE OR REPLACE TEMP TABLE _checks AS
WITH checker AS (
    SELECT sa.policy_key, sa.stmt_idx, sa.action, s.effect,
           s.conditions IS NOT NULL AS conditional, p.kind
    FROM statement_actions sa
    JOIN statements s ON s.policy_key = sa.policy_key AND s.stmt_idx = sa.stmt_idx
    JOIN policies p ON p.policy_key = sa.policy_key
    WHERE p.kind IN ('boundary', 'scp')
),
keys AS (
    SELECT DISTINCT profile, action, resource_pattern FROM _allow_rows WHERE profile <> ''
),
pp AS (
    SELECT DISTINCT profile, policy_key, scp_level FROM _principal_profiles
)
SELECT k.profile, k.action, k.resource_pattern,
       c.policy_key AS c_key, c.stmt_idx AS c_idx, c.effect AS c_effect,
       c.conditional AS c_conditional, c.kind AS c_kind, pp.scp_level
FROM keys k
JOIN pp ON pp.profile = k.profile
JOIN checker c ON c.policy_key = pp.policy_key AND c.action = k.action
