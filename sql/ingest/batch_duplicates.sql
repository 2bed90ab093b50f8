-- The batch's records that must not be stored, into temp table ingest_dups (file_no, idx,
-- rid): those whose event_id is already in events from an earlier batch, and every later
-- occurrence of an id seen twice inside the batch. The batch's records are those of the
-- documents path (ingest_rows, by file_no and idx) and those insert_delivery.sql already
-- stored (events rows of the batch, by rowid in rid). Of repeats inside the batch the first
-- by file order is kept, then by record index (documents path) or event_time (direct rows,
-- whose index is not kept). drop_duplicates.sql and drop_direct_duplicates.sql then remove
-- them, so new_events is a plain filter. A stored duplicate is the same record, so it has
-- the same event_time: limiting the lookup to the batch's time span ($min_time, $max_time)
-- lets DuckDB skip most of events by its min/max zone maps instead of hashing every stored
-- id. The price: a different record that reuses a stored id at a time outside the batch's
-- span is stored (inside one batch it is a duplicate). CloudTrail's ids are unique; only
-- hand-made or altered records do this. An exact lookup reads every stored id for every
-- batch (~0.1 s per million here), which grows with the square of a backfill's size.
-- $batch_id.
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
)
SELECT file_no, idx, rid
FROM batch
WHERE event_id IN (
    SELECT e.event_id FROM events AS e
    WHERE e.event_time BETWEEN $min_time::TIMESTAMP AND $max_time::TIMESTAMP
      AND e.batch_id IS DISTINCT FROM $batch_id)
UNION  -- a record may be both: listed once
SELECT file_no, idx, rid
FROM batch
WHERE event_id IN (SELECT event_id FROM batch GROUP BY event_id HAVING count(*) > 1)
QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY file_no, idx, event_time, rid) > 1;
