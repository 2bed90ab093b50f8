-- Earliest and latest event_time among the batch's valid records. No $parameters.
SELECT min(event_time) AS min_time, max(event_time) AS max_time
FROM ingest_rows
WHERE reason IS NULL AND skip IS NULL;
