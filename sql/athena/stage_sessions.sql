-- The sessions_daily rows returned by Athena (session_groups.sql), as temp table
-- ingest_sessions, which ingest/merge_sessions_daily merges. $principal_arn, $day,
-- $session_name, $source_identity, $user_agent, $source_ip, $access_key_id, $calls: one
-- list per column.
CREATE OR REPLACE TEMP TABLE ingest_sessions AS
SELECT unnest($principal_arn::VARCHAR[]) AS principal_arn,
       unnest($day::DATE[]) AS day,
       unnest($session_name::VARCHAR[]) AS session_name,
       unnest($source_identity::VARCHAR[]) AS source_identity,
       unnest($user_agent::VARCHAR[]) AS user_agent,
       unnest($source_ip::VARCHAR[]) AS source_ip,
       unnest($access_key_id::VARCHAR[]) AS access_key_id,
       unnest($calls::BIGINT[]) AS calls;
