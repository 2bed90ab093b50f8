-- Delete the rejects of ingest runs that started before $cutoff (TIMESTAMP). ingest_files
-- and ingest_runs stay, so files already read are never read (and counted) again.
DELETE FROM rejects
WHERE run_id IN (SELECT run_id FROM ingest_runs WHERE started_at < $cutoff);
