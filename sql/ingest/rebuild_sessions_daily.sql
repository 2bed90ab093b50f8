-- Recompute sessions_daily from every stored event. No $parameters.
INSERT INTO sessions_daily
    (principal_arn, day, session_name, source_identity, user_agent, source_ip, access_key_id, calls)
SELECT principal_arn, day, session_name, source_identity, user_agent, source_ip, access_key_id, calls
FROM sessions_daily_rows('events');
