-- Decide one concrete request (principal, action, resource ARN) from the statements,
-- the way AWS does for one account: the raw facts, combined by
-- recommender.grants.show.is_allowed. $principal_arn, $action, $arn.
WITH pp AS (
    SELECT DISTINCT policy_key, via, scp_level FROM principal_policies WHERE principal_arn = $principal_arn
),
m AS (
    SELECT pp.via, pp.scp_level, p.kind, s.effect, s.conditions IS NOT NULL AS conditional
    FROM pp
    JOIN policies p ON p.policy_key = pp.policy_key
    JOIN statements s ON s.policy_key = pp.policy_key
    JOIN statement_actions sa
      ON sa.policy_key = s.policy_key AND sa.stmt_idx = s.stmt_idx AND lower(sa.action) = lower($action)
    WHERE CASE WHEN s.resources IS NOT NULL
               THEN len(list_filter(s.resources, lambda r: iam_resource_match(r, $arn))) > 0
               ELSE len(list_filter(s.not_resources, lambda r: iam_resource_match(r, $arn))) = 0 END
)
SELECT
    coalesce(bool_or(effect = 'Deny' AND NOT conditional), false) AS denied,
    coalesce(bool_or(effect = 'Deny' AND conditional), false) AS conditionally_denied,
    coalesce(bool_or(effect = 'Allow' AND kind NOT IN ('boundary', 'scp')), false) AS identity_allows,
    coalesce(bool_or(effect = 'Allow' AND kind NOT IN ('boundary', 'scp') AND NOT conditional), false)
        AS identity_unconditional,
    (SELECT count(*) FROM pp WHERE via = 'boundary') > 0 AS has_boundary,
    coalesce(bool_or(effect = 'Allow' AND kind = 'boundary'), false) AS boundary_allows,
    coalesce(bool_or(effect = 'Allow' AND kind = 'boundary' AND NOT conditional), false)
        AS boundary_unconditional,
    (SELECT coalesce(list(DISTINCT scp_level), []) FROM pp WHERE via = 'scp') AS scp_levels,
    coalesce(list(DISTINCT scp_level) FILTER (WHERE effect = 'Allow' AND kind = 'scp'), []) AS scp_allow,
    coalesce(list(DISTINCT scp_level) FILTER (WHERE effect = 'Allow' AND kind = 'scp' AND NOT conditional), [])
        AS scp_unconditional
FROM m
