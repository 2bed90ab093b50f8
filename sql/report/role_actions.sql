-- Every classified (principal, action) with its catalog service and access level, for
-- the report's per-role tables. Actions unknown to the catalog keep their own prefix.
-- $role_pattern: glob on name or ARN, or NULL for all.
SELECT s.principal_arn, s.action, s.status, coalesce(s.calls, 0) AS calls,
       s.first_seen, s.last_seen, coalesce(s.resources, []::VARCHAR[]) AS resources, s.why,
       coalesce(c.service, lower(split_part(s.action, ':', 1))) AS service,
       coalesce(c.access_level, 'Unknown') AS access_level
FROM role_action_status AS s
JOIN principals AS p USING (principal_arn)
LEFT JOIN catalog_actions AS c ON c.action_lc = lower(s.action)
WHERE ($role_pattern IS NULL OR p.name GLOB $role_pattern OR p.principal_arn GLOB $role_pattern)
ORDER BY s.principal_arn, s.status, service, s.action
