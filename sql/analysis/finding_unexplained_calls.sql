-- Findings: successful calls in the window that the modelled grants do not cover, one
-- per principal. Medium: either a policy the tool does not see (resource-based, session)
-- grants them, the IAM data is older than the calls, or a mapping rule is missing; a
-- recommendation built without them would break them. No parameters.
INSERT INTO findings
WITH u AS (
    SELECT r.principal_arn, r.action, r.calls, r.first_seen, r.last_seen, r.resources, r.why,
           coalesce(e.event_ids, []) AS event_ids
    FROM role_action_status AS r
    LEFT JOIN an_action_events AS e
      ON e.principal_arn = r.principal_arn AND e.action_lc = lower(r.action) AND e.outcome = 'ok'
    WHERE r.status = 'unexplained'
)
SELECT principal_arn, 'unexplained_calls', 'medium',
       format('{} successful call(s) not covered by the modelled grants: {}', sum(calls),
              array_to_string(list(action ORDER BY calls DESC, action)[1:5], ', ')
              || CASE WHEN count(*) > 5 THEN ', ...' ELSE '' END),
       'Successful calls that the identity policies loaded do not allow: a resource-based or session policy, IAM data older than the calls, or a mapping gap. They are kept out of any automatic removal; check each.',
       json_object('actions', list(json_object('action', action, 'calls', calls, 'first_seen', iso_ts(first_seen),
                                               'last_seen', iso_ts(last_seen), 'resources', resources, 'why', why)
                                   ORDER BY calls DESC, action),
                   'calls', sum(calls),
                   'event_ids', list_sort(list_distinct(flatten(list(event_ids))))[1:10])
FROM u
GROUP BY principal_arn
