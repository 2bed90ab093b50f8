-- Append this run's totals to the run history (read by the report for trends).
-- $run_id, $created_at, $as_of, $window_days, $role_pattern.
INSERT INTO analysis_runs
SELECT $run_id, $created_at, $as_of, $window_days, $role_pattern,
       (SELECT count(*) FROM an_scope),
       count(*) FILTER (WHERE status IN ('used', 'unused', 'never_needed', 'unobservable')),
       count(*) FILTER (WHERE status = 'used'),
       count(*) FILTER (WHERE status = 'unused'),
       count(*) FILTER (WHERE status = 'never_needed'),
       count(*) FILTER (WHERE status = 'unobservable'),
       count(*) FILTER (WHERE status = 'denied'),
       count(*) FILTER (WHERE status = 'unexplained')
FROM role_action_status
