-- Drop the temp tables of an Athena load. No $parameters.
DROP TABLE IF EXISTS athena_groups;
