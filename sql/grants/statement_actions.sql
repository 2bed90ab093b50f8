-- Expand every statement to catalog actions: Action = the union of its patterns'
-- matches; NotAction = every catalog action matched by none of its patterns.
-- Once per policy statement, shared by all principals. No parameters.
INSERT INTO statement_actions
SELECT DISTINCT s.policy_key, s.stmt_idx, m.action
FROM (
    SELECT policy_key, stmt_idx, unnest(actions) AS pattern FROM statements WHERE actions IS NOT NULL
) s
JOIN action_pattern_matches m ON m.pattern = s.pattern
UNION ALL
(
    SELECT s.policy_key, s.stmt_idx, c.action
    FROM statements s CROSS JOIN catalog_actions c
    WHERE s.not_actions IS NOT NULL
    EXCEPT
    SELECT s.policy_key, s.stmt_idx, m.action
    FROM (
        SELECT policy_key, stmt_idx, unnest(not_actions) AS pattern
        FROM statements WHERE not_actions IS NOT NULL
    ) s
    JOIN action_pattern_matches m ON m.pattern = s.pattern
)
