-- The pairs refresh_rules resolves: every (event_source, event_name) in usage_daily plus
-- every exact pair the built-in rules name, into the temp table mapping_pairs. No parameters.
CREATE OR REPLACE TEMP TABLE mapping_pairs AS
SELECT DISTINCT event_source, event_name FROM usage_daily
UNION
SELECT DISTINCT event_source, event_name FROM mapping_builtin_rules WHERE NOT is_glob
