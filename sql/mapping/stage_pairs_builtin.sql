-- The pairs refresh_rules resolves when there is no usage_daily yet: every exact pair the
-- built-in rules name, into the temp table mapping_pairs. No parameters.
CREATE OR REPLACE TEMP TABLE mapping_pairs AS
SELECT DISTINCT event_source, event_name FROM mapping_builtin_rules WHERE NOT is_glob
