-- Findings carried over from the grants stage (iam_findings: policy problems found while
-- loading IAM), for the principals in scope; account-wide ones (no principal) only when
-- the run covers every principal. Kinds are written snake_case like the others. The
-- statement-level wildcard kinds are left out: wildcard_grant and resource_wildcard_write
-- report the same statements with what was used. $role_pattern: the run's --role glob or NULL.
INSERT INTO findings
SELECT f.principal_arn, replace(f.kind, '-', '_'), coalesce(f.severity, 'info'),
       upper(left(replace(replace(f.kind, '_', ' '), '-', ' '), 1))
       || substr(replace(replace(f.kind, '_', ' '), '-', ' '), 2)
       || CASE WHEN f.policy_key IS NOT NULL
               THEN ' in ' || coalesce(p.name, f.policy_key)
                    || CASE WHEN f.stmt_idx IS NOT NULL THEN ' statement #' || f.stmt_idx ELSE '' END
               ELSE '' END,
       f.detail,
       json_object('source', 'grants', 'policy_key', f.policy_key, 'policy_name', p.name,
                   'stmt_idx', f.stmt_idx)
FROM (SELECT DISTINCT * FROM iam_findings) AS f
LEFT JOIN policies AS p ON p.policy_key = f.policy_key
WHERE (f.principal_arn IN (SELECT principal_arn FROM an_scope)
       OR (f.principal_arn IS NULL AND $role_pattern IS NULL))
  AND replace(f.kind, '-', '_') NOT IN ('full_wildcard', 'service_wildcard', 'not_action_allow',
                                        'resource_star_write', 'resource_star_permissions')
