-- The analysis stage's verdict per role and action (one row per status). No parameters.
SELECT s.principal_arn, s.action, s.status, s.calls, s.first_seen, s.last_seen, s.resources, s.why, s.unobserved_resources
FROM role_action_status AS s
JOIN roles AS r USING (principal_arn)
ORDER BY s.principal_arn, s.action, s.status
