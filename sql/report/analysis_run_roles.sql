-- Per-principal counts of one recorded analysis run (the trend's baseline).
-- $run_id: the run.
SELECT principal_arn, granted, used, unused, never_needed, unobservable, denied, unexplained
FROM analysis_run_roles
WHERE run_id = $run_id
ORDER BY principal_arn
