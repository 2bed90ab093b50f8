-- Effective grants of one principal with each action's access level and the policy it
-- comes from, for `iam show`. $principal_arn: the principal.
SELECT e.action, split_part(e.action, ':', 1) AS service,
       coalesce(c.access_level, 'Unknown') AS access_level,
       e.resource_pattern, e.except_resources, e.conditional, e.status, e.reason,
       e.policy_key, e.stmt_idx, p.name AS policy_name, p.kind AS policy_kind, s.sid
FROM effective_grants e
LEFT JOIN catalog_actions c ON c.action = e.action
LEFT JOIN policies p ON p.policy_key = e.policy_key
LEFT JOIN statements s ON s.policy_key = e.policy_key AND s.stmt_idx = e.stmt_idx
WHERE e.principal_arn = $principal_arn
ORDER BY service, access_level, e.action, e.resource_pattern, e.policy_key, e.stmt_idx
