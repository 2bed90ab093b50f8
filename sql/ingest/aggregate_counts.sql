-- Row counts of the aggregate tables (reported after a rebuild). No $parameters.
SELECT (SELECT count(*) FROM events) AS events,
       (SELECT count(*) FROM usage_daily) AS usage_daily_rows,
       (SELECT count(*) FROM sessions_daily) AS sessions_daily_rows;
