-- Every job run, newest first, with the totals of the analysis run it produced.
-- $limit: how many runs to list.
SELECT r.run_id, r.started_at, r.finished_at, r.status, r.config_path, r.window_days, r.as_of,
       r.inputs, r.counts, r.out_dir, r.ingest_run_id, r.analysis_run_id, r.error,
       a.principals, a.granted, a.used, a.unused, a.never_needed, a.unobservable, a.denied,
       a.unexplained
FROM runs AS r
LEFT JOIN analysis_runs AS a ON a.run_id = r.analysis_run_id
ORDER BY r.started_at DESC, r.run_id DESC
LIMIT $limit;
