-- Findings: calls refused for lack of permission in the window, one per principal:
-- what it tried beyond its scope (for an agent, possibly steered by its input).
-- Medium when any refused action is IAM, STS, Organizations or a permissions-management
-- action; low otherwise. No parameters.
INSERT INTO findings
WITH d AS (
    SELECT r.principal_arn, r.action, r.calls, r.first_seen, r.last_seen, r.resources,
           ca.access_level, coalesce(e.event_ids, []) AS event_ids
    FROM role_action_status AS r
    LEFT JOIN catalog_actions AS ca ON ca.action_lc = lower(r.action)
    LEFT JOIN an_action_events AS e
      ON e.principal_arn = r.principal_arn AND e.action_lc = lower(r.action) AND e.outcome = 'denied'
    WHERE r.status = 'denied'
)
SELECT principal_arn, 'denied_calls',
       CASE WHEN bool_or(access_level = 'Permissions management'
                         OR split_part(lower(action), ':', 1) IN ('iam', 'sts', 'organizations'))
            THEN 'medium' ELSE 'low' END,
       format('{} call(s) denied in the window: {}', sum(calls),
              array_to_string(list(action ORDER BY calls DESC, action)[1:5], ', ')
              || CASE WHEN count(*) > 5 THEN ', ...' ELSE '' END),
       format('The principal tried {} action(s) it may not use. Denials are reported, never granted automatically; check whether the workload needs them or was steered to try them.', count(*)),
       json_object('actions', list(json_object('action', action, 'calls', calls, 'first_seen', iso_ts(first_seen),
                                               'last_seen', iso_ts(last_seen), 'resources', resources)
                                   ORDER BY calls DESC, action),
                   'calls', sum(calls),
                   'event_ids', list_sort(list_distinct(flatten(list(event_ids))))[1:10])
FROM d
GROUP BY principal_arn
