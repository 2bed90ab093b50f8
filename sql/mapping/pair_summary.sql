-- Every (event_source, event_name) in usage_daily with its rules and call counts, for
-- `recommender map` without arguments. No parameters.
SELECT p.event_source, p.event_name, p.calls, p.calls_ok, p.calls_denied,
       list({'action': r.action, 'resource_kind': r.resource_kind, 'when_param': r.when_param,
             'rule': r.rule, 'citation': r.citation}
            ORDER BY r.action NULLS FIRST, r.resource_kind NULLS FIRST, r.when_param NULLS FIRST)
           FILTER (WHERE r.rule IS NOT NULL) AS rules
FROM mapping_pair_calls p
LEFT JOIN event_action_rules r ON r.event_source = p.event_source AND r.event_name = p.event_name
GROUP BY ALL
ORDER BY p.event_source NULLS LAST, p.event_name NULLS LAST
