-- Working table: what identity-policy Denies do to each (principal, action, resource
-- pattern) they meet: an unconditional covering Deny blocks, a conditional one leaves
-- a note, a narrower one carves patterns out. No parameters.
CREATE OR REPLACE TEMP TABLE _deny_verdicts AS
WITH j AS (
    SELECT c.*, r.c_covers, r.c_overlaps, r.partial_patterns,
           p.kind || ' ' || c.c_key || ' statement ' || c.c_idx AS c_label
    FROM _identity_checks c
    JOIN _check_rel r
      ON r.c_key = c.c_key AND r.c_idx = c.c_idx AND r.resource_pattern = c.resource_pattern
    JOIN policies p ON p.policy_key = c.c_key
)
SELECT principal_arn, action, resource_pattern,
    min(c_label) FILTER (WHERE NOT c_conditional AND c_covers) AS deny_by,
    min(c_label) FILTER (WHERE c_conditional AND c_overlaps) AS cond_deny_by,
    min(c_label) FILTER (WHERE NOT c_conditional AND NOT c_covers AND c_overlaps) AS carve_by,
    coalesce(list_distinct(flatten(list(partial_patterns) FILTER (
        WHERE NOT c_conditional AND NOT c_covers AND partial_patterns IS NOT NULL))), []) AS carve
FROM j
GROUP BY principal_arn, action, resource_pattern
