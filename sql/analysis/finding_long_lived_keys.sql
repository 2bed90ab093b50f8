-- Findings: long-term access keys (AKIA...) used in the window. High for a principal
-- marked as an agent, medium otherwise: a static key cannot be scoped to a session,
-- expire on its own, or be told apart from a leaked copy. $window_start, $as_of.
INSERT INTO findings
WITH k AS (
    SELECT sd.principal_arn, sd.access_key_id, sum(sd.calls) AS calls, min(sd.day) AS first_day,
           max(sd.day) AS last_day,
           list(DISTINCT sd.source_ip ORDER BY sd.source_ip) FILTER (WHERE sd.source_ip IS NOT NULL) AS source_ips,
           list(DISTINCT user_agent_family(sd.user_agent) ORDER BY user_agent_family(sd.user_agent))
               FILTER (WHERE sd.user_agent IS NOT NULL) AS user_agents
    FROM sessions_daily AS sd
    JOIN an_scope USING (principal_arn)
    WHERE sd.day BETWEEN $window_start AND $as_of AND sd.access_key_id LIKE 'AKIA%'
    GROUP BY ALL
),
ev AS (
    SELECT e.access_key_id, max_by(e.event_id, e.event_time, 5) AS event_ids
    FROM events AS e
    WHERE e.access_key_id IN (SELECT access_key_id FROM k)
      AND e.event_time >= CAST($window_start AS TIMESTAMP)
      AND e.event_time < CAST($as_of AS TIMESTAMP) + INTERVAL 1 DAY
    GROUP BY ALL
)
SELECT k.principal_arn, 'long_lived_key', CASE WHEN s.is_agent THEN 'high' ELSE 'medium' END,
       format('Long-term access key {} used for {} call(s) in the window', k.access_key_id, k.calls),
       format('Access key {} (a long-term IAM user key) made calls from {} to {} from {} source IP(s). Use short-lived role credentials instead and deactivate the key.',
              k.access_key_id, k.first_day, k.last_day, len(coalesce(k.source_ips, []))),
       json_object('access_key_id', k.access_key_id, 'calls', k.calls, 'first_day', k.first_day,
                   'last_day', k.last_day, 'source_ips', coalesce(k.source_ips, []),
                   'user_agents', coalesce(k.user_agents, []),
                   'event_ids', coalesce(list_sort(ev.event_ids), []))
FROM k
JOIN an_scope AS s USING (principal_arn)
LEFT JOIN ev USING (access_key_id)
