-- The resolved rules of one call, from the temp table mapping_one_resolved, with the
-- action's access level. No parameters.
SELECT r.event_source, r.event_name, r.action, c.access_level, r.resource_kind, r.when_param,
       r.rule, r.citation, r.note
FROM mapping_one_resolved r
LEFT JOIN catalog_actions c ON c.action = r.action
ORDER BY r.action NULLS FIRST, r.resource_kind NULLS FIRST, r.when_param NULLS FIRST
