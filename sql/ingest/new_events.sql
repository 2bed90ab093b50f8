-- The batch's new records, as temp view ingest_new over events (usage_daily and
-- sessions_daily are filled from it): every row of the open batch, once duplicates are
-- deleted and the documents path's rows inserted. The batch id comes from set_batch.sql.
-- No $parameters.
CREATE OR REPLACE TEMP VIEW ingest_new AS
SELECT * FROM events WHERE batch_id = getvariable('ingest_batch_id');
