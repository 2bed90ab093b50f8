-- Allow statements naming actions that do not exist (a typo, a retired action, a
-- service that never had it): never_needed, since no call can ever need them. Only
-- identity policies count; boundaries and SCPs grant nothing. No parameters.
INSERT INTO role_action_status (principal_arn, action, status, calls, first_seen, last_seen, resources, why)
WITH pats AS (
    SELECT DISTINCT pp.principal_arn, st.policy_key, st.stmt_idx, unnest(st.actions) AS pattern
    FROM principal_policies AS pp
    JOIN an_scope AS s USING (principal_arn)
    JOIN statements AS st ON st.policy_key = pp.policy_key
    WHERE st.effect = 'Allow' AND pp.via NOT IN ('boundary', 'scp')
),
distinct_pats AS (SELECT DISTINCT pattern FROM pats),
known AS (
    SELECT p.pattern
    FROM distinct_pats AS p
    WHERE p.pattern = '*'
       OR EXISTS (
           SELECT 1 FROM catalog_actions AS ca
           WHERE ca.service = lower(split_part(p.pattern, ':', 1))
             AND iam_action_match(p.pattern, ca.action_lc))
)
SELECT principal_arn, pattern, 'never_needed', 0, NULL, NULL, []::VARCHAR[],
       format('no action in the IAM catalog matches {} (policy {}, statement {}): no call can ever need it',
              pattern, string_agg(DISTINCT policy_key, ', ' ORDER BY policy_key),
              string_agg(DISTINCT CAST(stmt_idx AS VARCHAR), ', ' ORDER BY CAST(stmt_idx AS VARCHAR)))
FROM pats
WHERE pattern NOT IN (SELECT pattern FROM known)
  AND lower(pattern) NOT IN (SELECT lower(action) FROM role_action_status AS r
                             WHERE r.principal_arn = pats.principal_arn)
GROUP BY principal_arn, pattern
