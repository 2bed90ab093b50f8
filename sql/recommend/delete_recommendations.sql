-- Forget earlier recommendations for the same roles, day and window before storing new ones.
-- $principal_arns: VARCHAR[]; $as_of: DATE; $window_days: INTEGER.
DELETE FROM recommendations
WHERE principal_arn IN (SELECT unnest($principal_arns::VARCHAR[])) AND as_of = $as_of AND window_days = $window_days
