-- The principals this run analyses: every loaded IAM role and user, or those whose name
-- or ARN matches the --role glob.
-- $role_pattern: glob on name or ARN (e.g. 'agent-*'), or NULL for all.
CREATE OR REPLACE TEMP TABLE an_scope AS
SELECT p.principal_arn, p.principal_type, p.account_id, p.name,
       coalesce(p.is_agent, false) AS is_agent, p.trust_policy, p.last_used_at
FROM principals AS p
WHERE $role_pattern IS NULL OR p.name GLOB $role_pattern OR p.principal_arn GLOB $role_pattern
