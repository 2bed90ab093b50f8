-- Working table: each principal's "limit profile", the boundary and SCPs (with their
-- level) that limit its Allows. Principals sharing a profile share those verdicts, so
-- they are computed once per (profile, action, resource pattern) instead of once per
-- principal. Identity-policy Denies are checked per principal (identity_checks.sql).
-- No parameters.
CREATE OR REPLACE TEMP TABLE _principal_profiles AS
WITH cp AS (
    SELECT DISTINCT pp.principal_arn, pp.policy_key, pp.scp_level
    FROM principal_policies pp
    JOIN policies p ON p.policy_key = pp.policy_key
    WHERE p.kind IN ('boundary', 'scp')
),
named AS (
    SELECT principal_arn,
           string_agg(policy_key || '@' || coalesce(scp_level, ''), '|'
                      ORDER BY policy_key, coalesce(scp_level, '')) AS profile
    FROM cp
    GROUP BY principal_arn
)
SELECT cp.principal_arn, named.profile, cp.policy_key, cp.scp_level
FROM cp JOIN named ON named.principal_arn = cp.principal_arn
