-- Match every distinct Action/NotAction pattern of every statement against the catalog,
-- case-insensitively with IAM's '*' and '?' (LIKE with escaping, so '[', '%' and '_'
-- stay literal). Patterns with a literal service prefix join on the service first.
-- No parameters.
INSERT INTO action_pattern_matches
WITH pats AS (
    SELECT DISTINCT pattern FROM (
        SELECT unnest(actions) AS pattern FROM statements WHERE actions IS NOT NULL
        UNION ALL
        SELECT unnest(not_actions) AS pattern FROM statements WHERE not_actions IS NOT NULL
    )
),
p AS (
    SELECT
        pattern,
        lower(split_part(pattern, ':', 1)) AS svc,
        iam_action_like(pattern) AS lk,
        NOT contains(pattern, ':') OR regexp_matches(split_part(pattern, ':', 1), '[*?]') AS svc_wild
    FROM pats
)
SELECT p.pattern, c.action
FROM p JOIN catalog_actions c ON c.service = p.svc
WHERE NOT p.svc_wild AND c.action_lc LIKE p.lk ESCAPE '\'
UNION ALL
SELECT p.pattern, c.action
FROM p JOIN catalog_actions c ON true
WHERE p.svc_wild AND c.action_lc LIKE p.lk ESCAPE '\'
