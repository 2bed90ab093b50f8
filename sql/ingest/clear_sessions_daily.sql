-- Empty sessions_daily before rebuilding it from events. No $parameters.
DELETE FROM sessions_daily;
