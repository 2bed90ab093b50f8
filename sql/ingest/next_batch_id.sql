-- The first batch id for this run (after discard_unfinished.sql). No $parameters.
SELECT coalesce(max(batch_id), 0) + 1 AS batch_id FROM ingest_batches;
