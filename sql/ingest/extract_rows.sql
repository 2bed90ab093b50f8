-- Validate and flatten the records staged in ingest_stage (every shape but the delivery
-- objects insert_delivery.sql stores itself; keep the validation of the two in step) into
-- temp table ingest_rows: one row per record with its events columns, a reject reason
-- (NULL when valid) and a skip reason (NULL unless deliberately not stored). The columns
-- taken as they are, with attribution, come from the macro cloudtrail_event_fields; the
-- time from cloudtrail_event_time (eventTime, or "@timestamp" for Logstash exports).
-- $ingested_at: timestamp of this run.
INSERT INTO ingest_rows BY NAME
WITH s AS (
    SELECT file_no, idx, r, raw, skip, pre_reason,
           nullif(r.eventSource, '') AS src,
           nullif(r.eventName, '') AS name,
           cloudtrail_time_text(r) AS time_text,
           cloudtrail_event_time(r) AS ts
    FROM ingest_stage
)
SELECT
    s.file_no,
    s.idx,
    (r.eventVersion IS NOT NULL OR r.eventTime IS NOT NULL OR r.userIdentity IS NOT NULL
     OR r.eventID IS NOT NULL) AS ct_like,
    coalesce(s.skip,
             CASE WHEN r.eventCategory = 'Insight' OR (s.src IS NULL AND r.insightDetails IS NOT NULL)
                  THEN 'CloudTrail Insight event (not an API call)' END) AS skip,
    CASE
        WHEN s.pre_reason IS NOT NULL THEN s.pre_reason
        WHEN s.raw IS NOT NULL AND json_type(s.raw) <> 'OBJECT' THEN
            'record is not a JSON object (it is ' || CASE json_type(s.raw)
                WHEN 'VARCHAR' THEN 'a string' WHEN 'ARRAY' THEN 'an array' WHEN 'NULL' THEN 'null'
                WHEN 'BOOLEAN' THEN 'a boolean' ELSE 'a number' END || ')'
        WHEN s.src IS NULL OR s.name IS NULL OR s.time_text IS NULL THEN
            'missing ' || concat_ws(', ',
                CASE WHEN s.src IS NULL THEN 'eventSource' END,
                CASE WHEN s.name IS NULL THEN 'eventName' END,
                CASE WHEN s.time_text IS NULL THEN 'eventTime' END)
        WHEN s.ts IS NULL THEN 'eventTime is not a timestamp: ' || left(s.time_text, 60)
    END AS reason,
    CASE WHEN s.pre_reason IS NOT NULL AND json_type(s.raw) = 'VARCHAR' THEN left(s.raw ->> '$', 500)
         ELSE left(coalesce(s.raw, to_json(r))::VARCHAR, 500) END AS snippet,
    cloudtrail_event_id(r, coalesce(s.raw, to_json(r))) AS event_id,
    s.ts AS event_time,
    s.src AS event_source,
    s.name AS event_name,
    unnest(cloudtrail_event_fields(r)),
    f.uri AS source_uri,
    $ingested_at::TIMESTAMP AS ingested_at
FROM s
JOIN ingest_batch_files AS f USING (file_no);
