-- Remove the duplicates among the rows insert_delivery.sql stored for the batch (listed by
-- rowid in ingest_dups, batch_duplicates.sql). Runs in the batch's transaction, so the
-- rowids are those batch_duplicates read. $batch_id.
DELETE FROM events
WHERE batch_id = $batch_id AND rowid IN (SELECT rid FROM ingest_dups WHERE rid IS NOT NULL);
