-- Validate and flatten the records staged in ingest_stage (every shape but the fast path,
-- which stage_delivery.sql flattens itself; keep the two in step) into temp table
-- ingest_rows: one row per record with its events columns, a reject reason (NULL when valid) and a skip
-- reason (NULL unless deliberately not stored). Attribution: an assumed-role session is
-- stored under its role (sessionContext.sessionIssuer.arn, path included; derived from the
-- assumed-role ARN for old records without a session issuer), IAM users under the user
-- ARN, AWS services under invokedBy. Logstash-processed records have no eventTime: their
-- "@timestamp" is used instead. $ingested_at: timestamp of this run.
INSERT INTO ingest_rows BY NAME
WITH s AS (
    SELECT file_no, idx, r, raw, skip, pre_reason,
           nullif(r.eventSource, '') AS src,
           nullif(r.eventName, '') AS name,
           coalesce(r.eventTime, r."@timestamp") AS time_text,
           -- The usual CloudTrail form first (cheap), any ISO 8601 offset form after.
           coalesce(try_strptime(coalesce(r.eventTime, r."@timestamp"), '%Y-%m-%dT%H:%M:%SZ'),
                    try_cast(coalesce(r.eventTime, r."@timestamp") AS TIMESTAMPTZ) AT TIME ZONE 'UTC') AS ts,
           r.userIdentity AS ui,
           nullif(r.userIdentity.sessionContext.sessionIssuer.arn, '') AS issuer_arn
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
    false AS needs_raw,
    cloudtrail_event_id(r, coalesce(s.raw, to_json(r))) AS event_id,
    s.ts AS event_time,
    r.eventVersion AS event_version,
    s.src AS event_source,
    s.name AS event_name,
    r.eventType AS event_type,
    r.eventCategory AS event_category,
    try_cast(lower(r.readOnly) AS BOOLEAN) AS read_only,
    r.awsRegion AS aws_region,
    r.recipientAccountId AS recipient_account_id,
    cloudtrail_principal_arn(s.ui, s.issuer_arn) AS principal_arn,
    s.ui.type AS principal_type,
    s.ui.accountId AS principal_account_id,
    cloudtrail_session_name(s.ui) AS session_name,
    nullif(s.ui.sessionContext.sourceIdentity, '') AS source_identity,
    nullif(s.ui.accessKeyId, '') AS access_key_id,
    nullif(s.ui.invokedBy, '') AS invoked_by,
    r.userAgent AS user_agent,
    r.sourceIPAddress AS source_ip,
    r.vpcEndpointId AS vpc_endpoint_id,
    nullif(r.errorCode, '') AS error_code,
    r.errorMessage AS error_message,
    [{'arn': x.ARN, 'type': x."type", 'account_id': x.accountId} FOR x IN r.resources] AS resources,
    r.requestParameters AS request_parameters,
    f.uri AS source_uri,
    $ingested_at::TIMESTAMP AS ingested_at
FROM s
JOIN ingest_batch_files AS f USING (file_no);
