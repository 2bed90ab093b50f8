-- Roles whose effective grants cannot be trusted: a load error names the role or one
-- of its policies, or the grants stage produced no effective_grants rows for a role
-- that has identity policies. No parameters.
SELECT r.principal_arn, 'IAM load error: ' || e.message || ' (' || e.file || ')' AS reason
FROM roles AS r
JOIN iam_load_errors AS e
  ON e.principal = r.principal_arn
  OR e.policy IN (SELECT pp.policy_key FROM principal_policies AS pp WHERE pp.principal_arn = r.principal_arn)
UNION ALL
SELECT r.principal_arn,
       'no effective grants were computed for this role; run `recommender iam load` again' AS reason
FROM roles AS r
WHERE EXISTS (SELECT 1 FROM principal_policies AS pp JOIN policies AS p USING (policy_key)
              WHERE pp.principal_arn = r.principal_arn AND p.kind IN ('inline', 'customer_managed', 'aws_managed'))
  AND NOT EXISTS (SELECT 1 FROM effective_grants AS g WHERE g.principal_arn = r.principal_arn)
ORDER BY 1, 2
