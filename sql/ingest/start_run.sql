-- Open an ingest run and return its id. $started_at.
INSERT INTO ingest_runs (run_id, started_at, files, records, stored, duplicates, rejected, skipped_files)
VALUES (nextval('ingest_run_seq'), $started_at::TIMESTAMP, 0, 0, 0, 0, 0, 0)
RETURNING run_id;
