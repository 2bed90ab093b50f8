-- Findings: identity Allow statements with '*' / '*:*' (everything), 'service:*'
-- (a whole service) or NotAction (everything except a list). No parameters.
INSERT INTO iam_findings
WITH pats AS (
    SELECT policy_key, stmt_idx, unnest(actions) AS pattern
    FROM statements WHERE effect = 'Allow' AND actions IS NOT NULL
),
hits AS (
    SELECT policy_key, stmt_idx,
        CASE
            WHEN pattern IN ('*', '*:*') THEN 'full-wildcard'
            WHEN regexp_full_match(pattern, '[^:*?]+:\*') THEN 'service-wildcard'
        END AS kind,
        pattern
    FROM pats
    UNION ALL
    SELECT policy_key, stmt_idx, 'not-action-allow', array_to_string(not_actions, ', ')
    FROM statements WHERE effect = 'Allow' AND not_actions IS NOT NULL
)
SELECT DISTINCT pp.principal_arn, h.policy_key, h.stmt_idx, h.kind,
    CASE h.kind WHEN 'full-wildcard' THEN 'high' ELSE 'medium' END,
    CASE h.kind
        WHEN 'full-wildcard' THEN 'Allow ' || h.pattern || ': every action of every service'
        WHEN 'service-wildcard' THEN 'Allow ' || h.pattern || ': every action of the service'
        ELSE 'Allow with NotAction [' || h.pattern || ']: every other action of every service'
    END
FROM hits h
JOIN principal_policies pp ON pp.policy_key = h.policy_key
WHERE h.kind IS NOT NULL AND pp.via NOT IN ('boundary', 'scp')
