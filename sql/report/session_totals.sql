-- How many distinct sessions and workloads (user agent, source identity, long-lived key)
-- each principal had in the window, so the report can say how many it did not list.
-- $start, $end: the window's first and last day.
SELECT principal_arn,
       count(DISTINCT session_name) AS sessions,
       count(DISTINCT (user_agent, source_identity,
                       CASE WHEN access_key_id LIKE 'AKIA%' THEN access_key_id END)) AS workloads,
       sum(calls) AS calls
FROM sessions_daily
WHERE day BETWEEN $start AND $end
GROUP BY principal_arn
