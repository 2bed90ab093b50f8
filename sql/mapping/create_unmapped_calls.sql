-- View unmapped_calls: (event_source, event_name) pairs in usage_daily that no rule maps,
-- neither to actions nor explicitly to none, with how many calls (events) and why.
-- No parameters.
CREATE OR REPLACE VIEW unmapped_calls AS
SELECT p.event_source, p.event_name, p.calls AS events,
       CASE WHEN p.event_source IS NULL OR p.event_name IS NULL THEN 'record has no event source or event name'
            WHEN sp.prefix IS NULL THEN 'no IAM service prefix known for event source ' || p.event_source
            ELSE 'no rule, no Service Authorization Reference entry and no catalog action named '
                 || sp.prefix || ':' || er_operation(p.event_name) END AS reason
FROM mapping_pair_calls p
LEFT JOIN event_source_prefixes sp ON sp.event_source = lower(trim(p.event_source))
WHERE NOT EXISTS (SELECT 1 FROM event_action_rules r
                  WHERE r.event_source = p.event_source AND r.event_name = p.event_name)
ORDER BY p.calls DESC, p.event_source, p.event_name
