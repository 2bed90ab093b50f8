-- Store one role's recommendation.
-- $principal_arn, $as_of, $window_days, $verdict, $actions_before, $actions_after,
-- $resources_scoped, $entry (JSON text), $generated_at.
INSERT INTO recommendations VALUES ($principal_arn, $as_of, $window_days, $verdict, $actions_before,
    $actions_after, $resources_scoped, $entry::JSON, $generated_at)
