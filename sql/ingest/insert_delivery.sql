-- Store S3 delivery objects ({"Records":[...]}, what CloudTrail writes to S3) straight into
-- events: the fast path for the common case, with no staging table. ingest() streams the
-- batch's objects as the Arrow record batches of ingest_docs(file_no, uri, json), one per
-- file, inflating each as DuckDB asks for it, so memory holds a few objects, not the batch.
-- Each object is parsed once into record structs (cloudtrail_delivery) and flattened into
-- the events columns in the same statement.
--
-- The statement must not fail on bad input, so it cannot reject: try() turns an object that
-- is not valid JSON into no rows, and a record this path cannot store as it is (no eventID,
-- so its id needs the raw JSON; no eventSource, eventName or eventTime; a time that does
-- not parse; an Insight event) becomes a placeholder row with event_id ''. ingest() then
-- sends every file with a placeholder or with no rows to the documents path (stage_documents,
-- extract_rows), which keeps raw JSON for exact reject reasons and snippets, and deletes
-- its rows here (delete_direct_files.sql). Real event ids are never '' (nullif below).
-- The rows are committed before their batch is (batch_id; see discard_unfinished.sql).
-- Validation mirrors extract_rows.sql; the columns taken as they are come from the shared
-- macro cloudtrail_event_fields.
-- The parse is a column of a subquery, not the unnest's own argument: an unnest repeats
-- each input row's other columns next to its output, and a string column (here the whole
-- object) is copied and checked as UTF-8 for that; a list column (the parsed records) is
-- only referenced (~2% of the ingest's CPU; docs/benchmarks.md).
-- $ingested_at: timestamp of this run; $batch_id: the open batch.
INSERT INTO events BY NAME
WITH d AS (
    SELECT uri, unnest(recs) AS r
    FROM (SELECT uri, try(cloudtrail_delivery(json)) AS recs FROM ingest_docs)
),
s AS (
    SELECT uri, r,
           nullif(r.eventSource, '') AS src,
           nullif(r.eventName, '') AS name,
           cloudtrail_event_time(r) AS ts
    FROM d
)
SELECT
    CASE WHEN nullif(r.eventID, '') IS NOT NULL AND src IS NOT NULL AND name IS NOT NULL
              AND ts IS NOT NULL AND r.eventCategory IS DISTINCT FROM 'Insight'
         THEN r.eventID ELSE '' END AS event_id,
    coalesce(ts, TIMESTAMP '1970-01-01') AS event_time,
    coalesce(src, '') AS event_source,
    coalesce(name, '') AS event_name,
    unnest(cloudtrail_event_fields(r)),
    uri AS source_uri,
    $ingested_at::TIMESTAMP AS ingested_at,
    $batch_id::BIGINT AS batch_id
FROM s;
