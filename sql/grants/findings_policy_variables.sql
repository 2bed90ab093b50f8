-- Findings: resource patterns with policy variables (${aws:username}, ...), which the
-- evaluation treats as wildcards. No parameters.
INSERT INTO iam_findings
SELECT DISTINCT principal_arn, policy_key, stmt_idx, 'policy-variable', 'info',
       'resource pattern ' || resource_pattern || ' uses policy variables; treated as a wildcard'
FROM grants
WHERE contains(resource_pattern, '${')
