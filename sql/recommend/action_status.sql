-- The analysis stage's verdict per role and action: one row per role and action, the
-- action compared without case (lc). Where an action has several rows (a status per
-- spelling), the strongest status wins: used, unobservable, unused, never_needed,
-- denied, unexplained, then any other (the granted verdict decides; denied and unexplained
-- rows only sit beside it); ties go to the first by action, then status.
-- Chosen here, not in Python: a role granted * has ~22,000 rows. No parameters.
SELECT s.principal_arn, lower(s.action) AS lc, s.action, s.status, s.calls, s.first_seen,
       s.last_seen, s.resources, s.why, s.unobserved_resources
FROM role_action_status AS s
JOIN roles AS r USING (principal_arn)
QUALIFY row_number() OVER (
    PARTITION BY s.principal_arn, lower(s.action)
    ORDER BY CASE s.status WHEN 'used' THEN 0 WHEN 'unobservable' THEN 1 WHEN 'unused' THEN 2
                           WHEN 'never_needed' THEN 3 WHEN 'denied' THEN 4 WHEN 'unexplained' THEN 5
                           ELSE 9 END,
             s.action, s.status) = 1
