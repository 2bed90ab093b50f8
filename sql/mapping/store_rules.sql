-- Replace event_action_rules with the resolved rules in the temp table mapping_resolved.
-- Runs after `DELETE FROM event_action_rules` (delete_rules.sql) in one transaction. No parameters.
INSERT INTO event_action_rules
    (event_source, event_name, action, resource_kind, when_param, rule, citation, note)
SELECT event_source, event_name, action, resource_kind, when_param, rule, citation, note
FROM mapping_resolved
