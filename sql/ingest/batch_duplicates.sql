-- The batch's records that must not be stored, into temp table ingest_dups (file_no, idx,
-- rid): those whose event_id is already in events from an earlier batch, and every later
-- occurrence of an id seen twice inside the batch. The batch's records are those of the
-- documents path (ingest_rows, by file_no and idx) and those insert_delivery.sql already
-- stored (events rows of the batch, by rowid in rid). Of repeats inside the batch the first
-- by file order is kept, then by record index (documents path) or event_time (direct rows,
-- whose index is not kept). drop_duplicates.sql and drop_direct_duplicates.sql then remove
-- them, so new_events is a plain filter. An id is a duplicate whatever its record's time
-- (a record that reuses an id is not stored, in one batch or across runs), so the lookup
-- reads every stored id: the batch's ids are the hash table (the small side), the stored
-- ids stream past it. $batch_id.
CREATE OR REPLACE TEMP TABLE ingest_dups AS
WITH batch AS MATERIALIZED (
    SELECT file_no, idx, NULL::BIGINT AS rid, event_id, event_time
    FROM ingest_rows
    WHERE reason IS NULL AND skip IS NULL
    UNION ALL
    SELECT f.file_no, NULL::BIGINT, e.rowid, e.event_id, e.event_time
    FROM events AS e
    JOIN ingest_batch_files AS f ON f.uri = e.source_uri
    WHERE e.batch_id = $batch_id
),
stored AS (
    SELECT DISTINCT e.event_id
    FROM events AS e
    WHERE e.batch_id IS DISTINCT FROM $batch_id
      AND e.event_id IN (SELECT event_id FROM batch)
)
SELECT file_no, idx, rid
FROM batch
WHERE event_id IN (SELECT event_id FROM stored)
UNION  -- a record may be both: listed once
SELECT file_no, idx, rid
FROM batch
WHERE event_id IN (SELECT event_id FROM batch GROUP BY event_id HAVING count(*) > 1)
QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY file_no, idx, event_time, rid) > 1;
