-- Close an ingest run with its totals. $run_id, $finished_at, $files, $records, $stored,
-- $duplicates, $rejected, $skipped_files.
UPDATE ingest_runs
SET finished_at = $finished_at::TIMESTAMP, files = $files, records = $records, stored = $stored,
    duplicates = $duplicates, rejected = $rejected, skipped_files = $skipped_files
WHERE run_id = $run_id;
