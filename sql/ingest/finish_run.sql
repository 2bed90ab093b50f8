-- Close an ingest run with its totals and how it ended. $run_id, $finished_at, $status,
-- $files, $records, $stored, $duplicates, $rejected, $skipped_files.
UPDATE ingest_runs
SET finished_at = $finished_at::TIMESTAMP, status = $status, files = $files, records = $records,
    stored = $stored, duplicates = $duplicates, rejected = $rejected, skipped_files = $skipped_files
WHERE run_id = $run_id;
