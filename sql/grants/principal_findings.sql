-- Findings of one principal (plus account-wide SCP findings). $principal_arn: the principal.
SELECT DISTINCT f.principal_arn, f.policy_key, f.stmt_idx, f.kind, f.severity, f.detail
FROM iam_findings f
WHERE f.principal_arn = $principal_arn
   OR (f.principal_arn IS NULL AND f.policy_key IN (
        SELECT policy_key FROM principal_policies WHERE principal_arn = $principal_arn))
ORDER BY CASE f.severity WHEN 'high' THEN 0 WHEN 'medium' THEN 1 WHEN 'low' THEN 2 ELSE 3 END,
         f.kind, f.policy_key, f.stmt_idx, f.detail
