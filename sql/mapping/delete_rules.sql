-- Empty event_action_rules before store_rules.sql refills it. No parameters.
DELETE FROM event_action_rules
