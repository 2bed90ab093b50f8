-- The valid records of the batch that must not be stored, into temp table ingest_dups
-- (file_no, idx): those whose event_id is already in events, and every later occurrence of
-- an id seen twice inside the batch (the first, by file order then record index, is kept).
-- drop_duplicates.sql then removes them from ingest_rows, so new_events is a plain filter
-- (an anti-join there cost every later statement that reads the batch, ~0.3 s per 500,000
-- records, though the list is usually empty). A stored duplicate is the same record, so it
-- has the same event_time: limiting the lookup to the batch's time span ($min_time,
-- $max_time) lets DuckDB skip most of events by its min/max zone maps instead of hashing
-- every stored id.
CREATE OR REPLACE TEMP TABLE ingest_dups AS
SELECT b.file_no, b.idx
FROM ingest_rows AS b
WHERE b.reason IS NULL AND b.skip IS NULL
  AND b.event_id IN (
      SELECT e.event_id FROM events AS e
      WHERE e.event_time BETWEEN $min_time::TIMESTAMP AND $max_time::TIMESTAMP)
UNION  -- a record may be both: listed once
SELECT d.file_no, d.idx
FROM ingest_rows AS d
WHERE d.reason IS NULL AND d.skip IS NULL
  AND d.event_id IN (
      SELECT event_id FROM ingest_rows
      WHERE reason IS NULL AND skip IS NULL
      GROUP BY event_id HAVING count(*) > 1)
QUALIFY row_number() OVER (PARTITION BY d.event_id ORDER BY d.file_no, d.idx) > 1;
