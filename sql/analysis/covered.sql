-- Which successful observations an allowed grant covers: same principal and action,
-- and the touched resource matches the grant's resource pattern and none of its
-- carved-out patterns (iam_resource_match semantics, evaluated as LIKE patterns so no
-- regex is compiled per row). A call whose resource is unknown (NULL) is covered by any
-- allowed grant of its action; so is an instance profile passed to EC2 (iam:PassRole
-- applies to the profile's role, whose name the logs do not give). A resource that is
-- itself a pattern (a secret named without its random suffix: '...:secret:name-*') is
-- covered by a grant pattern that can match the same secret. No parameters.
CREATE OR REPLACE TEMP TABLE an_covered AS
WITH ok AS (
    SELECT obs_id, principal_arn, lower(action) AS action_lc, resource_arn
    FROM an_obs WHERE outcome = 'ok' AND action IS NOT NULL
),
g AS (
    SELECT principal_arn, action_lc, resource_pattern, except_resources, resource_like, except_likes
    FROM an_grants WHERE status = 'allowed' AND fits
)
-- Grants on '*' without carve-outs cover every resource: no pattern matching needed.
SELECT DISTINCT o.obs_id
FROM ok AS o
JOIN (SELECT DISTINCT principal_arn, action_lc FROM g
      WHERE resource_pattern = '*' AND len(except_resources) = 0) AS star
  ON star.principal_arn = o.principal_arn AND star.action_lc = o.action_lc
UNION
SELECT o.obs_id
FROM ok AS o
JOIN g ON g.principal_arn = o.principal_arn AND g.action_lc = o.action_lc
          AND NOT (g.resource_pattern = '*' AND len(g.except_resources) = 0)
WHERE o.resource_arn IS NULL
   OR (g.action_lc = 'iam:passrole' AND o.resource_arn LIKE '%:instance-profile/%')
   OR (CASE WHEN contains(o.resource_arn, '*')
            THEN iam_patterns_overlap(g.resource_pattern, o.resource_arn)
            ELSE like_escape(o.resource_arn, g.resource_like, '\') END
       AND len([x FOR x IN g.except_likes IF like_escape(o.resource_arn, x, '\')]) = 0)
