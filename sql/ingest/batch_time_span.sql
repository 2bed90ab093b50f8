-- Earliest and latest event_time among the batch's valid records: those of the documents
-- path (ingest_rows) and those already stored by insert_delivery.sql. $batch_id.
SELECT min(t) AS min_time, max(t) AS max_time
FROM (
    SELECT event_time AS t FROM ingest_rows WHERE reason IS NULL AND skip IS NULL
    UNION ALL
    SELECT event_time FROM events WHERE batch_id = $batch_id
);
