-- Findings: IAM roles and users that made calls in the window but have no IAM data
-- loaded, so their grants cannot be judged. Info. $window_start, $as_of, $role_pattern.
INSERT INTO findings
SELECT u.principal_arn, 'unmodelled_principal', 'info',
       format('Active but not in the IAM data: {} call(s) in the window', sum(u.calls)),
       'Load IAM for its account (recommender iam load / iam fetch) to classify its grants.',
       json_object('calls', sum(u.calls), 'first_seen', iso_ts(min(u.first_seen)), 'last_seen', iso_ts(max(u.last_seen)),
                   'events', count(DISTINCT u.event_source || ' ' || u.event_name))
FROM usage_daily AS u
WHERE u.day BETWEEN $window_start AND $as_of
  AND regexp_matches(u.principal_arn, '^arn:[^:]+:iam::[0-9]+:(role|user)/')
  AND u.principal_arn NOT IN (SELECT principal_arn FROM principals)
  AND ($role_pattern IS NULL
       OR u.principal_arn GLOB $role_pattern
       OR regexp_extract(u.principal_arn, '[^/]+$') GLOB $role_pattern)
GROUP BY u.principal_arn
