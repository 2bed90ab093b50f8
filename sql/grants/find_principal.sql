-- Principals whose ARN is $ident, or whose name is $ident (roles first). $ident: a name or ARN.
SELECT principal_arn, principal_type, account_id, name, path, created, boundary_arn,
       last_used_at, last_used_region, is_agent, agent_reason, tags, source_uri
FROM principals
WHERE principal_arn = $ident OR name = $ident
ORDER BY principal_type = 'role' DESC, principal_arn
