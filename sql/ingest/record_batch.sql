-- Mark the batch committed (in its own transaction). $batch_id, $run_id, $files, $stored,
-- $committed_at.
INSERT INTO ingest_batches (batch_id, run_id, files, stored, committed_at)
VALUES ($batch_id, $run_id, $files, $stored, $committed_at::TIMESTAMP);
