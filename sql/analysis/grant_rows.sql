-- The effective grants of the principals in scope, each with whether its resource
-- pattern can match any resource type of its action at all (a grant of s3:GetObject on
-- arn:aws:s3:::bucket, without /*, never applies). Actions that take no resource type
-- are never judged here: IAM evaluates them against "*", which every pattern is given.
-- Patterns are also kept as LIKE patterns for the coverage join. No parameters.
CREATE OR REPLACE TEMP TABLE an_grants AS
WITH g AS (
    SELECT e.*
    FROM effective_grants AS e
    WHERE e.principal_arn IN (SELECT principal_arn FROM an_scope)
),
pairs AS (
    SELECT DISTINCT action, resource_pattern FROM g WHERE resource_pattern <> '*'
),
fit AS (
    SELECT p.action, p.resource_pattern,
           bool_or(iam_patterns_overlap(p.resource_pattern, rt.arn_template)) AS fits,
           string_agg(DISTINCT rt.arn_template, ' or ' ORDER BY rt.arn_template) AS templates
    FROM pairs AS p
    JOIN catalog_actions AS ca ON ca.action_lc = lower(p.action)
    JOIN catalog_action_resources AS car ON car.action = ca.action
    JOIN catalog_resource_types AS rt
      ON rt.service = ca.service AND rt.resource_type = car.resource_type
    WHERE rt.arn_template IS NOT NULL
    GROUP BY p.action, p.resource_pattern
)
SELECT g.principal_arn, g.action, lower(g.action) AS action_lc, g.resource_pattern,
       coalesce(g.conditional, false) AS conditional, g.status, g.reason, g.policy_key,
       g.stmt_idx, coalesce(g.except_resources, []::VARCHAR[]) AS except_resources,
       resource_like(g.resource_pattern) AS resource_like,
       [resource_like(x) FOR x IN coalesce(g.except_resources, []::VARCHAR[])] AS except_likes,
       coalesce(f.fits, true) AS fits, f.templates
FROM g
LEFT JOIN fit AS f ON f.action = g.action AND f.resource_pattern = g.resource_pattern
