-- The principals of the latest run with their counts per status, for the summary.
-- No parameters (reads the an_scope of the run just made).
SELECT s.principal_arn, s.name, s.principal_type, s.account_id, s.is_agent,
       count(r.status) FILTER (WHERE r.status IN ('used', 'unused', 'never_needed', 'unobservable')) AS granted,
       count(r.status) FILTER (WHERE r.status = 'used') AS used,
       count(r.status) FILTER (WHERE r.status = 'unused') AS unused,
       count(r.status) FILTER (WHERE r.status = 'never_needed') AS never_needed,
       count(r.status) FILTER (WHERE r.status = 'unobservable') AS unobservable,
       count(r.status) FILTER (WHERE r.status = 'denied') AS denied,
       count(r.status) FILTER (WHERE r.status = 'unexplained') AS unexplained
FROM an_scope AS s
LEFT JOIN role_action_status AS r USING (principal_arn)
GROUP BY ALL
ORDER BY s.account_id, s.name, s.principal_arn
