-- The newest analysis run, to warn when role_action_status was computed for another
-- window than the recommendation's. No parameters.
SELECT run_id, as_of, window_days, role_pattern FROM analysis_runs ORDER BY run_id DESC LIMIT 1
