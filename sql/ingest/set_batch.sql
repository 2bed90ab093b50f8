-- The open batch's id as a session variable, for the ingest_new view (new_events.sql): a
-- view takes no parameters, and getvariable() folds to a constant, so the scan of events
-- still skips other batches by their min/max. $batch_id.
SET VARIABLE ingest_batch_id = $batch_id::BIGINT;
