-- Working table: the boundary / SCP / resource-type verdict for each distinct
-- (limit profile, action, resource pattern) of the Allow rows. Blocked when an
-- unconditional boundary or SCP Deny covers the pattern, when the profile has a
-- boundary and no boundary Allow reaches it, when some SCP level has no Allow reaching
-- it, or when the pattern cannot match the action's resource types. Conditional and
-- partial limits leave it allowed with notes. No parameters.
CREATE OR REPLACE TEMP TABLE _verdicts AS
WITH keys AS (
    SELECT DISTINCT profile, action, resource_pattern FROM _allow_rows
),
j AS (
    SELECT c.*, r.c_covers, r.c_overlaps, r.partial_patterns,
           c.c_kind || ' ' || c.c_key || ' statement ' || c.c_idx AS c_label
    FROM _checks c
    JOIN _check_rel r
      ON r.c_key = c.c_key AND r.c_idx = c.c_idx AND r.resource_pattern = c.resource_pattern
),
agg AS (
    SELECT profile, action, resource_pattern,
        min(c_label) FILTER (WHERE c_effect = 'Deny' AND NOT c_conditional AND c_covers) AS deny_by,
        min(c_label) FILTER (WHERE c_effect = 'Deny' AND c_conditional AND c_overlaps) AS cond_deny_by,
        min(c_label) FILTER (WHERE c_effect = 'Deny' AND NOT c_conditional AND NOT c_covers AND c_overlaps) AS carve_by,
        flatten(list(partial_patterns) FILTER (
            WHERE c_effect = 'Deny' AND NOT c_conditional AND NOT c_covers AND partial_patterns IS NOT NULL)) AS carve,
        bool_or(c_kind = 'boundary' AND c_effect = 'Allow' AND c_overlaps) AS b_overlaps,
        bool_or(c_kind = 'boundary' AND c_effect = 'Allow' AND c_covers) AS b_covers,
        bool_or(c_kind = 'boundary' AND c_effect = 'Allow' AND c_overlaps AND NOT c_conditional) AS b_uncond,
        list(DISTINCT scp_level) FILTER (WHERE c_kind = 'scp' AND c_effect = 'Allow' AND c_overlaps) AS scp_ok,
        list(DISTINCT scp_level) FILTER (WHERE c_kind = 'scp' AND c_effect = 'Allow' AND c_covers) AS scp_cover,
        list(DISTINCT scp_level) FILTER (
            WHERE c_kind = 'scp' AND c_effect = 'Allow' AND c_overlaps AND NOT c_conditional) AS scp_uncond
    FROM j
    GROUP BY profile, action, resource_pattern
),
ctx AS (
    SELECT profile,
           min(policy_key) FILTER (WHERE policy_key LIKE 'boundary:%') AS boundary_key,
           coalesce(list(DISTINCT scp_level) FILTER (WHERE scp_level IS NOT NULL), []) AS scp_levels
    FROM _principal_profiles
    GROUP BY profile
),
e AS (
    SELECT k.*, g.deny_by, g.cond_deny_by, g.carve_by, g.carve,
           coalesce(g.b_overlaps, false) AS b_overlaps, coalesce(g.b_covers, false) AS b_covers,
           coalesce(g.b_uncond, false) AS b_uncond,
           coalesce(g.scp_ok, []) AS scp_ok, coalesce(g.scp_cover, []) AS scp_cover,
           coalesce(g.scp_uncond, []) AS scp_uncond,
           x.boundary_key, coalesce(x.scp_levels, []) AS scp_levels,
           m.expected AS mismatch_expected
    FROM keys k
    LEFT JOIN agg g
      ON g.profile = k.profile AND g.action = k.action AND g.resource_pattern = k.resource_pattern
    LEFT JOIN ctx x ON x.profile = k.profile
    LEFT JOIN _mismatch m ON m.action = k.action AND m.resource_pattern = k.resource_pattern
),
s AS (
    SELECT *,
        list_filter(scp_levels, lambda l: NOT list_contains(scp_ok, l)) AS scp_missing,
        CASE
            WHEN boundary_key IS NOT NULL AND NOT b_overlaps
                THEN 'not allowed by permissions boundary ' || replace(boundary_key, 'boundary:', '')
            WHEN len(list_filter(scp_levels, lambda l: NOT list_contains(scp_ok, l))) > 0
                THEN 'not allowed by the SCPs at ' || array_to_string(
                    list_sort(list_filter(scp_levels, lambda l: NOT list_contains(scp_ok, l))), ', ')
            WHEN mismatch_expected IS NOT NULL
                THEN 'resource-mismatch: ' || resource_pattern || ' cannot match ' || mismatch_expected
        END AS other_block
    FROM e
)
SELECT profile, action, resource_pattern, deny_by, other_block,
       cond_deny_by IS NOT NULL
           OR (boundary_key IS NOT NULL AND NOT b_uncond)
           OR len(list_filter(scp_levels, lambda l: NOT list_contains(scp_uncond, l))) > 0 AS extra_conditional,
       list_filter([
           CASE WHEN cond_deny_by IS NOT NULL THEN 'conditionally denied by ' || cond_deny_by END,
           CASE WHEN carve_by IS NOT NULL
                THEN 'denied on ' || array_to_string(list_sort(list_distinct(carve)), ' ') || ' by ' || carve_by END,
           CASE WHEN boundary_key IS NOT NULL AND NOT b_covers
                THEN 'boundary allows only part of ' || resource_pattern END,
           CASE WHEN boundary_key IS NOT NULL AND b_overlaps AND NOT b_uncond
                THEN 'boundary allows it only under conditions' END,
           CASE WHEN len(list_filter(scp_levels, lambda l: NOT list_contains(scp_cover, l))) > 0
                THEN 'SCPs allow only part of ' || resource_pattern END,
           CASE WHEN len(list_filter(scp_levels, lambda l: NOT list_contains(scp_uncond, l))) > 0
                THEN 'SCPs allow it only under conditions' END,
           CASE WHEN contains(resource_pattern, '${') THEN 'resource pattern uses policy variables' END
       ], lambda x: x IS NOT NULL) AS notes,
       coalesce(list_distinct(carve), []) AS carve
FROM s
