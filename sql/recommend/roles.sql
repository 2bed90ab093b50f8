-- Every loaded IAM role (recommendations are made for roles), with whether it is
-- selected by the --role glob. All are returned because shared policies and the agent
-- ceiling need the other roles too.
-- $role_pattern: glob on name or ARN (e.g. 'agent-*'), or NULL for all.
SELECT principal_arn, name, account_id, created, coalesce(is_agent, false) AS is_agent,
       ($role_pattern IS NULL OR name GLOB $role_pattern OR principal_arn GLOB $role_pattern) AS selected
FROM roles
ORDER BY principal_arn
