-- Findings: effectively allowed Write / Permissions management actions on Resource '*'
-- where the action could be scoped to a resource type. One row per principal,
-- statement and access level, with a count and examples. No parameters.
INSERT INTO iam_findings
SELECT e.principal_arn, e.policy_key, e.stmt_idx,
    CASE c.access_level WHEN 'Write' THEN 'resource-star-write' ELSE 'resource-star-permissions' END,
    CASE c.access_level WHEN 'Write' THEN 'medium' ELSE 'high' END,
    'Resource ''*'' on ' || count(DISTINCT e.action) || ' ' || c.access_level
        || ' action(s) that could be scoped to resources, e.g. '
        || array_to_string(list_slice(list_sort(list(DISTINCT e.action)), 1, 5), ', ')
FROM effective_grants e
JOIN catalog_actions c ON c.action = e.action
WHERE e.status = 'allowed' AND e.resource_pattern = '*'
  AND c.access_level IN ('Write', 'Permissions management')
  AND len(c.resource_types) > 0
GROUP BY e.principal_arn, e.policy_key, e.stmt_idx, c.access_level
