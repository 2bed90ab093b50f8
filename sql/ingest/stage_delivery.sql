-- Stage S3 delivery objects ({"Records":[...]}, what CloudTrail writes to S3), the fast path
-- for the common case. ingest() has already inflated each file (ISA-L, in a background
-- thread) and hands the chunk over as the Arrow table ingest_docs(file_no, uri, json): one
-- row per file, the whole delivery object as one string, no copy. Each object is parsed once
-- straight into record structs and flattened into temp table ingest_rows in the same
-- statement (no intermediate table).
-- Validation mirrors extract_rows.sql (keep the two in step; the columns taken as they
-- are come from the shared macro cloudtrail_event_fields), specialised to records read
-- without their raw JSON: a record missing eventID, eventSource, eventName or
-- eventTime is marked needs_raw and its file is staged again on the documents path, which
-- gives its reject the exact snippet or its id the canonical hash.
-- $ingested_at: timestamp of this run.
INSERT INTO ingest_rows BY NAME
WITH d AS (
    -- No join with ingest_batch_files: the uri travels in the Arrow table. (Joined, the
    -- parse ran on the join's build side, on one thread, when a chunk had few files.)
    SELECT file_no, uri,
           unnest(range(len(d.recs))) AS idx,
           unnest(d.recs) AS r
    FROM (
        SELECT file_no, uri, coalesce(cloudtrail_delivery(json), []) AS recs
        FROM ingest_docs
    ) AS d
),
s AS (
    SELECT file_no, uri, idx, r,
           nullif(r.eventSource, '') AS src,
           nullif(r.eventName, '') AS name,
           cloudtrail_time_text(r) AS time_text,
           cloudtrail_event_time(r) AS ts
    FROM d
),
x AS (
    SELECT s.*,
           CASE
               WHEN s.src IS NULL OR s.name IS NULL OR s.time_text IS NULL THEN
                   'missing ' || concat_ws(', ',
                       CASE WHEN s.src IS NULL THEN 'eventSource' END,
                       CASE WHEN s.name IS NULL THEN 'eventName' END,
                       CASE WHEN s.time_text IS NULL THEN 'eventTime' END)
               WHEN s.ts IS NULL THEN 'eventTime is not a timestamp: ' || left(s.time_text, 60)
           END AS reason
    FROM s
)
SELECT
    x.file_no,
    x.idx,
    (r.eventVersion IS NOT NULL OR r.eventTime IS NOT NULL OR r.userIdentity IS NOT NULL
     OR r.eventID IS NOT NULL) AS ct_like,
    CASE WHEN r.eventCategory = 'Insight' OR (x.src IS NULL AND r.insightDetails IS NOT NULL)
         THEN 'CloudTrail Insight event (not an API call)' END AS skip,
    x.reason,
    -- Only rejects keep a snippet; serialising every record back to JSON would be waste.
    CASE WHEN x.reason IS NOT NULL THEN left(to_json(r)::VARCHAR, 500) END AS snippet,
    (nullif(r.eventID, '') IS NULL OR x.src IS NULL OR x.name IS NULL OR x.time_text IS NULL) AS needs_raw,
    cloudtrail_event_id(r, to_json(r)) AS event_id,
    x.ts AS event_time,
    x.src AS event_source,
    x.name AS event_name,
    unnest(cloudtrail_event_fields(r)),
    x.uri AS source_uri,
    $ingested_at::TIMESTAMP AS ingested_at
FROM x;
