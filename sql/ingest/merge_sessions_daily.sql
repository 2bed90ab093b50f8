-- Merge the batch's session rows (ingest_sessions) into sessions_daily (keys may be NULL, matched with
-- IS NOT DISTINCT FROM). No $parameters.
MERGE INTO sessions_daily AS s
USING ingest_sessions AS b
ON s.day = b.day
   AND s.principal_arn IS NOT DISTINCT FROM b.principal_arn
   AND s.session_name IS NOT DISTINCT FROM b.session_name
   AND s.source_identity IS NOT DISTINCT FROM b.source_identity
   AND s.user_agent IS NOT DISTINCT FROM b.user_agent
   AND s.source_ip IS NOT DISTINCT FROM b.source_ip
   AND s.access_key_id IS NOT DISTINCT FROM b.access_key_id
WHEN MATCHED THEN UPDATE SET calls = s.calls + b.calls
WHEN NOT MATCHED THEN INSERT
    (principal_arn, day, session_name, source_identity, user_agent, source_ip, access_key_id, calls)
    VALUES (b.principal_arn, b.day, b.session_name, b.source_identity, b.user_agent, b.source_ip,
            b.access_key_id, b.calls);
