-- Share of calls in usage_daily whose (event_source, event_name) the rules map (to actions
-- or explicitly to none). No parameters.
WITH flags AS (
    SELECT p.*,
           EXISTS (SELECT 1 FROM event_action_rules r
                   WHERE r.event_source = p.event_source AND r.event_name = p.event_name) AS mapped,
           EXISTS (SELECT 1 FROM event_action_rules r
                   WHERE r.event_source = p.event_source AND r.event_name = p.event_name
                     AND r.rule = 'no_permission') AS no_permission
    FROM mapping_pair_calls p
)
SELECT count(*) AS pairs,
       count(*) FILTER (WHERE mapped) AS pairs_mapped,
       coalesce(sum(calls), 0)::BIGINT AS calls,
       coalesce(sum(calls) FILTER (WHERE mapped AND NOT no_permission), 0)::BIGINT AS calls_to_actions,
       coalesce(sum(calls) FILTER (WHERE no_permission), 0)::BIGINT AS calls_no_permission,
       coalesce(sum(calls) FILTER (WHERE NOT mapped), 0)::BIGINT AS calls_unmapped,
       coalesce(bool_and(exact), TRUE) AS exact
FROM flags
