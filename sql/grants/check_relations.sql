-- Working table: how each limiting statement's resources relate to each Allow resource
-- pattern it meets: covers (applies to everything the Allow pattern matches),
-- overlaps (applies to some of it), and the narrower patterns that only overlap
-- (carve-outs). NotResource statements apply to what matches none of their patterns.
-- No parameters.
CREATE OR REPLACE TEMP TABLE _check_rel AS
WITH pairs AS (
    SELECT DISTINCT c_key, c_idx, resource_pattern FROM _checks
    UNION
    SELECT DISTINCT c_key, c_idx, resource_pattern FROM _identity_checks
),
u AS (
    SELECT p.c_key, p.c_idx, p.resource_pattern AS a, s.not_resources IS NOT NULL AS nr,
           unnest(coalesce(s.resources, s.not_resources)) AS pat
    FROM pairs p
    JOIN statements s ON s.policy_key = p.c_key AND s.stmt_idx = p.c_idx
),
r AS (
    SELECT c_key, c_idx, a, nr, pat,
           iam_pattern_covers(pat, a) AS cov,
           iam_patterns_overlap(pat, a) AS ovl
    FROM u
)
SELECT c_key, c_idx, a AS resource_pattern,
       CASE WHEN nr THEN NOT bool_or(ovl) ELSE bool_or(cov) END AS c_covers,
       CASE WHEN nr THEN NOT bool_or(cov) ELSE bool_or(ovl) END AS c_overlaps,
       CASE WHEN nr THEN NULL
            ELSE list(pat ORDER BY pat) FILTER (WHERE ovl AND NOT cov) END AS partial_patterns
FROM r
GROUP BY c_key, c_idx, a, nr
