-- Delete the rows of batches that never committed (an ingest killed mid-batch): their
-- batch_id is above the last one in ingest_batches. Run by connect() on every read-write
-- connection and when ingest starts, before any new batch. No $parameters.
DELETE FROM events
WHERE batch_id > (SELECT coalesce(max(batch_id), 0) FROM ingest_batches);
