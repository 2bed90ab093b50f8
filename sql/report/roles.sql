-- The principals a report covers: every role, and every other principal the analysis
-- classified, optionally narrowed to names/ARNs matching a glob.
-- $role_pattern: glob on name or ARN (e.g. 'agent-*'), or NULL for all.
SELECT p.principal_arn, p.principal_type, p.account_id, p.name, p.path, p.created,
       CAST(p.trust_policy AS VARCHAR) AS trust_policy, CAST(p.tags AS VARCHAR) AS tags,
       p.boundary_arn, p.last_used_at, p.last_used_region,
       coalesce(p.is_agent, false) AS is_agent, p.agent_reason
FROM principals AS p
WHERE (p.principal_type = 'role'
       OR p.principal_arn IN (SELECT DISTINCT principal_arn FROM role_action_status))
  AND ($role_pattern IS NULL OR p.name GLOB $role_pattern OR p.principal_arn GLOB $role_pattern)
ORDER BY p.account_id, p.name, p.principal_arn
