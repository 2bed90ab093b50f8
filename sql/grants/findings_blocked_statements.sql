-- Findings: identity Allow statements none of whose grants survive Deny, boundary or
-- SCP evaluation (dead policy text). No parameters.
INSERT INTO iam_findings
SELECT principal_arn, policy_key, stmt_idx, 'never-exercisable', 'low',
       'every grant of this statement is blocked (' || count(*) || ' action/resource pair(s)), e.g. '
           || min(action) || ': ' || min(reason)
FROM effective_grants
GROUP BY principal_arn, policy_key, stmt_idx
HAVING bool_and(status = 'blocked') AND NOT bool_and(reason LIKE 'resource-mismatch:%')
