-- Append this run's per-principal counts to the run history. $run_id.
INSERT INTO analysis_run_roles
SELECT $run_id, s.principal_arn,
       count(r.status) FILTER (WHERE r.status IN ('used', 'unused', 'never_needed', 'unobservable')),
       count(r.status) FILTER (WHERE r.status = 'used'),
       count(r.status) FILTER (WHERE r.status = 'unused'),
       count(r.status) FILTER (WHERE r.status = 'never_needed'),
       count(r.status) FILTER (WHERE r.status = 'unobservable'),
       count(r.status) FILTER (WHERE r.status = 'denied'),
       count(r.status) FILTER (WHERE r.status = 'unexplained')
FROM an_scope AS s
LEFT JOIN role_action_status AS r USING (principal_arn)
GROUP BY s.principal_arn
