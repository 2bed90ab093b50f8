-- Empty usage_daily before rebuilding it from events. No $parameters.
DELETE FROM usage_daily;
