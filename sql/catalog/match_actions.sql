-- Catalog actions matched by one IAM action pattern (case-insensitive * and ?).
-- $pattern: an Action element value such as "s3:Get*", "*" or "iam:PassRole".
SELECT action
FROM catalog_actions
WHERE action_lc GLOB lower($pattern)
ORDER BY action
