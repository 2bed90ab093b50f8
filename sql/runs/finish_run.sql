-- Close a job run with its outcome. $run_id, $finished_at, $status, $as_of, $counts (JSON
-- text), $ingest_run_id, $analysis_run_id, $error.
UPDATE runs
SET finished_at = $finished_at, status = $status, as_of = $as_of, counts = $counts::JSON,
    ingest_run_id = $ingest_run_id, analysis_run_id = $analysis_run_id, error = $error
WHERE run_id = $run_id;
