-- Working table: (action, resource pattern) pairs of Allow grants that can never be
-- exercised because the pattern cannot match the ARN template of any resource type
-- the action supports (templates become globs, ${...} matching anything; when in
-- doubt the pair is treated as matching). No parameters.
CREATE OR REPLACE TEMP TABLE _mismatch AS
WITH pairs AS (
    SELECT DISTINCT action, resource_pattern FROM _allow_rows WHERE resource_pattern <> '*'
),
t AS (
    SELECT ar.action, rt.resource_type, rt.arn_template
    FROM catalog_action_resources ar
    JOIN catalog_resource_types rt
      ON rt.service = split_part(ar.action, ':', 1) AND rt.resource_type = ar.resource_type
    WHERE ar.action IN (SELECT action FROM pairs)
)
SELECT p.action, p.resource_pattern,
       array_to_string(list_sort(list_distinct(
           list(t.resource_type || ' ' || coalesce(t.arn_template, '?')))), ', ') AS expected
FROM pairs p JOIN t ON t.action = p.action
GROUP BY p.action, p.resource_pattern
HAVING NOT bool_or(t.arn_template IS NULL
                   OR iam_patterns_overlap(p.resource_pattern, iam_strip_variables(t.arn_template)))
