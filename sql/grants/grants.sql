-- Identity-policy statements (inline, managed, via groups) expanded per principal:
-- one row per statement x action x resource pattern. NotResource statements give one
-- row per excluded pattern with not_resource = true. (principal_policies rows are unique,
-- statement_actions is distinct: no DISTINCT needed over millions of rows.) No parameters.
INSERT INTO grants
WITH stmt_res AS (
    SELECT policy_key, stmt_idx, effect, conditions IS NOT NULL AS conditional,
           not_resources IS NOT NULL AS not_resource,
           unnest(list_distinct(coalesce(resources, not_resources))) AS resource_pattern
    FROM statements
)
SELECT pp.principal_arn, sa.action, r.resource_pattern, r.not_resource, r.effect,
       r.conditional, r.policy_key, r.stmt_idx, pp.via
FROM principal_policies pp
JOIN stmt_res r ON r.policy_key = pp.policy_key
JOIN statement_actions sa ON sa.policy_key = r.policy_key AND sa.stmt_idx = r.stmt_idx
WHERE pp.via NOT IN ('boundary', 'scp')
