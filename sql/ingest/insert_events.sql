-- Store the valid, new records of the documents path (ingest_rows, duplicates already
-- removed) under the open batch. $batch_id.
INSERT INTO events
SELECT event_id, event_time, event_version, event_source, event_name, event_type,
       event_category, read_only, aws_region, recipient_account_id, principal_arn,
       principal_type, principal_account_id, session_name, source_identity, access_key_id,
       invoked_by, user_agent, source_ip, vpc_endpoint_id, error_code, error_message,
       resources, request_parameters, source_uri, ingested_at, $batch_id::BIGINT
FROM ingest_rows
WHERE reason IS NULL AND skip IS NULL;
