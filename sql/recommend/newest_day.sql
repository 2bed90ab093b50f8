-- The newest ingested day: the default end (--as-of) of the recommendation window. No parameters.
SELECT max(day) AS newest FROM usage_daily
