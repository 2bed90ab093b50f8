-- The policies attached to each principal (name, kind, how attached), for the
-- "what this role is" part of the report. $role_pattern: glob on name or ARN, or NULL.
SELECT pp.principal_arn, pp.via, pol.policy_key, pol.policy_arn, pol.name, pol.kind
FROM principal_policies AS pp
JOIN principals AS p USING (principal_arn)
LEFT JOIN policies AS pol USING (policy_key)
WHERE ($role_pattern IS NULL OR p.name GLOB $role_pattern OR p.principal_arn GLOB $role_pattern)
ORDER BY pp.principal_arn, pol.kind, pol.name, pp.policy_key
