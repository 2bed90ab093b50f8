-- Every verdict of the latest run, in a stable order. No parameters.
SELECT principal_arn, action, status, calls, first_seen, last_seen, resources, why, unobserved_resources
FROM role_action_status
ORDER BY principal_arn, action, status
