-- The valid records of the batch that are not stored yet, into temp table ingest_new:
-- duplicates inside the batch keep their first occurrence (file order, then record index),
-- records whose event_id is already in events are left out. A stored duplicate is the
-- same record, so it has the same event_time: limiting the lookup to the batch's time span
-- ($min_time, $max_time) lets DuckDB skip most of events by its min/max zone maps instead of
-- hashing every stored id for every batch. The in-batch window runs over the three key
-- columns only and names the later occurrences (usually none), so the wide rows are
-- copied once and never sorted.
CREATE OR REPLACE TEMP TABLE ingest_new AS
SELECT * EXCLUDE (ct_like, skip, reason, snippet, needs_raw)
FROM ingest_rows AS b
WHERE b.reason IS NULL AND b.skip IS NULL
  AND b.event_id NOT IN (
      SELECT e.event_id FROM events AS e
      WHERE e.event_time BETWEEN $min_time::TIMESTAMP AND $max_time::TIMESTAMP)
  AND (b.file_no, b.idx) NOT IN (
      SELECT (d.file_no, d.idx) FROM ingest_rows AS d
      WHERE d.reason IS NULL AND d.skip IS NULL
      QUALIFY row_number() OVER (PARTITION BY d.event_id ORDER BY d.file_no, d.idx) > 1);
