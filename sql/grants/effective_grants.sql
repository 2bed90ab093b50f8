-- Effective access: each identity Allow row after AWS's evaluation for one account,
-- combining the profile verdict (boundary, SCPs, resource types; verdicts.sql) with
-- the principal's own Denies (deny_verdicts.sql). Any unconditional covering Deny
-- blocks first; a conditional Deny or a Deny on a narrower pattern leaves the row
-- allowed with a note (narrower unconditional Deny patterns go to except_resources).
-- No parameters.
INSERT INTO effective_grants
WITH x AS (
    SELECT a.principal_arn, a.action, a.resource_pattern, a.conditional, a.policy_key, a.stmt_idx,
           a.own_except, v.other_block, v.extra_conditional, v.notes, v.carve,
           coalesce(d.deny_by, v.deny_by) AS deny_by,
           d.cond_deny_by AS id_cond_deny_by, d.carve_by AS id_carve_by, d.carve AS id_carve
    FROM _allow_rows a
    JOIN _verdicts v
      ON v.profile = a.profile AND v.action = a.action AND v.resource_pattern = a.resource_pattern
    LEFT JOIN _deny_verdicts d
      ON d.principal_arn = a.principal_arn AND d.action = a.action AND d.resource_pattern = a.resource_pattern
)
SELECT principal_arn, action, resource_pattern,
       conditional OR (deny_by IS NULL AND other_block IS NULL
                       AND (extra_conditional OR id_cond_deny_by IS NOT NULL)) AS conditional,
       CASE WHEN deny_by IS NULL AND other_block IS NULL THEN 'allowed' ELSE 'blocked' END AS status,
       CASE
           WHEN deny_by IS NOT NULL THEN 'denied by ' || deny_by
           WHEN other_block IS NOT NULL THEN other_block
           WHEN id_cond_deny_by IS NULL AND id_carve_by IS NULL AND len(notes) = 0 THEN NULL
           ELSE array_to_string(list_filter([
                    CASE WHEN id_cond_deny_by IS NOT NULL THEN 'conditionally denied by ' || id_cond_deny_by END,
                    CASE WHEN id_carve_by IS NOT NULL
                         THEN 'denied on ' || array_to_string(list_sort(id_carve), ' ') || ' by ' || id_carve_by END
                ], lambda n: n IS NOT NULL) || notes, '; ')
       END AS reason,
       policy_key, stmt_idx,
       CASE
           WHEN deny_by IS NOT NULL OR other_block IS NOT NULL THEN own_except
           WHEN len(carve) = 0 AND id_carve IS NULL THEN own_except
           ELSE list_sort(list_distinct(own_except || carve || coalesce(id_carve, [])))
       END AS except_resources
FROM x
