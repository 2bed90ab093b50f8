-- Successful calls in the window per role, action and resource: what the
-- recommendation must keep allowing (invariant 1).
-- $window_start, $as_of: the window's first and last day (inclusive).
SELECT o.principal_arn, o.action, o.resource_arn, sum(o.calls) AS calls, max(o.last_seen) AS last_seen
FROM observed_actions AS o
JOIN roles AS r USING (principal_arn)
WHERE o.outcome = 'ok' AND o.action IS NOT NULL AND o.day BETWEEN $window_start AND $as_of
GROUP BY ALL
ORDER BY 1, 2, 3
