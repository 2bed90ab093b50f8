-- The identity policies and permission boundary of every role, with their documents
-- and how many roles each is attached to (a customer-managed policy on several roles
-- is shared). SCPs are not the role's to change and are left out. No parameters.
SELECT pp.principal_arn, p.policy_key, p.policy_arn, p.name, p.kind,
       CAST(p.document AS VARCHAR) AS document, p.created, p.updated,
       list_sort(list_distinct(list(pp.principal_arn) OVER (PARTITION BY p.policy_key))) AS attached_to
FROM principal_policies AS pp
JOIN policies AS p USING (policy_key)
JOIN roles AS r ON r.principal_arn = pp.principal_arn
WHERE p.kind IN ('inline', 'customer_managed', 'aws_managed', 'boundary')
ORDER BY pp.principal_arn, p.policy_key
