-- Findings: Action/NotAction patterns that match nothing in the catalog (a typo, a
-- retired action, or a service prefix IAM does not know). A Deny that names nothing
-- denies nothing, so those are high. One row per principal using the policy (NULL
-- principal for SCPs, which apply to everyone). No parameters.
INSERT INTO iam_findings
WITH pats AS (
    SELECT policy_key, stmt_idx, effect, unnest(coalesce(actions, not_actions)) AS pattern
    FROM statements
),
unmatched AS (
    SELECT p.*, lower(split_part(p.pattern, ':', 1)) AS svc
    FROM pats p
    WHERE p.pattern NOT IN (SELECT pattern FROM action_pattern_matches)
),
classified AS (
    SELECT u.*,
        CASE
            WHEN NOT contains(u.pattern, ':') THEN 'invalid-action'
            WHEN u.svc IN (SELECT service FROM catalog_services) THEN 'unknown-action'
            ELSE 'unknown-service'
        END AS kind
    FROM unmatched u
)
SELECT DISTINCT
    CASE WHEN pp.via = 'scp' THEN NULL ELSE pp.principal_arn END,
    c.policy_key, c.stmt_idx, c.kind,
    CASE WHEN c.effect = 'Deny' THEN 'high' ELSE 'medium' END,
    CASE c.kind
        WHEN 'invalid-action' THEN 'action ' || c.pattern || ' has no service prefix (expected service:Action)'
        WHEN 'unknown-action' THEN 'action ' || c.pattern || ' matches no action of ' || c.svc
                                   || ' in the IAM catalog (typo or retired action?)'
        ELSE 'service prefix ' || c.svc || ' (in ' || c.pattern || ') is not in the IAM catalog'
    END || CASE WHEN c.effect = 'Deny' THEN '; this Deny denies nothing' ELSE '' END
FROM classified c
JOIN principal_policies pp ON pp.policy_key = c.policy_key
