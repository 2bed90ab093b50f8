-- The analysis findings of the principals in scope (and, without a role filter, the
-- account-wide ones with no principal), with their evidence as JSON text.
-- $role_pattern: glob on name or ARN, or NULL for all.
SELECT f.principal_arn, f.kind, f.severity, f.title, f.detail,
       CAST(f.evidence AS VARCHAR) AS evidence
FROM findings AS f
LEFT JOIN principals AS p USING (principal_arn)
WHERE CASE WHEN f.principal_arn IS NULL THEN $role_pattern IS NULL
           ELSE $role_pattern IS NULL OR p.name GLOB $role_pattern
                OR f.principal_arn GLOB $role_pattern END
ORDER BY f.principal_arn NULLS FIRST, f.kind, f.title
