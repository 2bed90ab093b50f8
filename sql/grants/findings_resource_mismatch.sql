-- Findings: grants that can never be exercised because the resource pattern matches
-- none of the action's resource types. Reported per statement and pattern when an
-- action named explicitly is affected (medium) or when every action the statement
-- grants on that pattern is (low). No parameters.
INSERT INTO iam_findings
WITH rows AS (
    SELECT e.principal_arn, e.policy_key, e.stmt_idx, e.resource_pattern, e.action,
           e.reason LIKE 'resource-mismatch:%' AS mismatch,
           list_contains(list_transform(coalesce(s.actions, []), lambda x: lower(x)), lower(e.action)) AS named
    FROM effective_grants e
    JOIN statements s ON s.policy_key = e.policy_key AND s.stmt_idx = e.stmt_idx
    WHERE e.resource_pattern <> '*'
),
g AS (
    SELECT principal_arn, policy_key, stmt_idx, resource_pattern,
           list(action ORDER BY action) FILTER (WHERE mismatch) AS bad,
           bool_or(mismatch AND named) AS named_bad,
           bool_and(mismatch) AS all_bad
    FROM rows
    GROUP BY ALL
)
SELECT principal_arn, policy_key, stmt_idx, 'resource-mismatch',
       CASE WHEN named_bad THEN 'medium' ELSE 'low' END,
       'resource ' || resource_pattern || ' can never match the resource types of '
           || len(bad) || ' action(s): '
           || array_to_string(list_slice(bad, 1, 8), ', ') || CASE WHEN len(bad) > 8 THEN ', ...' ELSE '' END
FROM g
WHERE named_bad OR all_bad
