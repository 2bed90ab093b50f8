-- The recorded analysis runs, newest first: the first is the one role_action_status
-- holds now, the second the baseline of the report's trend. No parameters.
SELECT run_id, created_at, as_of, window_days, role_pattern, principals,
       granted, used, unused, never_needed, unobservable, denied, unexplained
FROM analysis_runs
ORDER BY created_at DESC, run_id DESC
