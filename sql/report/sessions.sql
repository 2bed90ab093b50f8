-- Who used each principal in the window, as workloads: calls grouped by user agent,
-- source identity and long-lived access key (temporary ASIA keys and source IPs change
-- from session to session, so they would split one workload into many rows). Busiest
-- first, at most $limit per principal, with a few session names and IPs as examples.
-- $start, $end: the window's first and last day; $limit: rows kept per principal;
-- $examples: session names / IPs kept per row; $role_pattern: glob on name or ARN, or NULL.
WITH calls AS (
    SELECT s.principal_arn, s.user_agent, s.source_identity,
           CASE WHEN s.access_key_id LIKE 'AKIA%' THEN s.access_key_id END AS long_lived_key,
           s.session_name, s.source_ip, s.day, s.calls
    FROM sessions_daily AS s
    JOIN principals AS p USING (principal_arn)
    WHERE s.day BETWEEN $start AND $end
      AND ($role_pattern IS NULL OR p.name GLOB $role_pattern OR p.principal_arn GLOB $role_pattern)
), per_session AS (
    SELECT principal_arn, user_agent, source_identity, long_lived_key, session_name,
           sum(calls) AS calls
    FROM calls
    GROUP BY ALL
), per_ip AS (
    SELECT principal_arn, user_agent, source_identity, long_lived_key, source_ip,
           sum(calls) AS calls
    FROM calls
    GROUP BY ALL
), names AS (
    SELECT principal_arn, user_agent, source_identity, long_lived_key,
           count(session_name) AS sessions,
           list(session_name ORDER BY calls DESC, session_name)
               FILTER (WHERE session_name IS NOT NULL)[1:$examples] AS session_names
    FROM per_session
    GROUP BY principal_arn, user_agent, source_identity, long_lived_key
), ips AS (
    SELECT principal_arn, user_agent, source_identity, long_lived_key,
           count(source_ip) AS source_ips,
           list(source_ip ORDER BY calls DESC, source_ip)
               FILTER (WHERE source_ip IS NOT NULL)[1:$examples] AS source_ip_examples
    FROM per_ip
    GROUP BY principal_arn, user_agent, source_identity, long_lived_key
), per_workload AS (
    SELECT principal_arn, user_agent, source_identity, long_lived_key,
           sum(calls) AS calls, min(day) AS first_day, max(day) AS last_day
    FROM calls
    GROUP BY principal_arn, user_agent, source_identity, long_lived_key
)
-- user agent, source identity and key may be NULL: the joins treat NULLs as equal.
SELECT w.*, n.sessions, n.session_names, i.source_ips, i.source_ip_examples
FROM per_workload AS w
JOIN names AS n
  ON n.principal_arn = w.principal_arn
 AND n.user_agent IS NOT DISTINCT FROM w.user_agent
 AND n.source_identity IS NOT DISTINCT FROM w.source_identity
 AND n.long_lived_key IS NOT DISTINCT FROM w.long_lived_key
JOIN ips AS i
  ON i.principal_arn = w.principal_arn
 AND i.user_agent IS NOT DISTINCT FROM w.user_agent
 AND i.source_identity IS NOT DISTINCT FROM w.source_identity
 AND i.long_lived_key IS NOT DISTINCT FROM w.long_lived_key
QUALIFY row_number() OVER (
    PARTITION BY w.principal_arn
    ORDER BY w.calls DESC, w.user_agent, w.source_identity, w.long_lived_key) <= $limit
ORDER BY w.principal_arn, w.calls DESC, w.user_agent, w.source_identity, w.long_lived_key
