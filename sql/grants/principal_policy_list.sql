-- The policies attached to one principal and how. $principal_arn: the principal.
SELECT pp.policy_key, pp.via, pp.scp_level, p.name, p.kind, p.policy_arn, p.version_id,
       (SELECT count(*) FROM statements s WHERE s.policy_key = pp.policy_key) AS statements
FROM principal_policies pp
LEFT JOIN policies p ON p.policy_key = pp.policy_key
WHERE pp.principal_arn = $principal_arn
ORDER BY pp.via, pp.policy_key
