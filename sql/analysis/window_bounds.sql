-- The days the ingested usage covers: the newest is the default end of the analysis
-- window, the oldest is where "the whole ingested history" begins. No parameters.
SELECT min(day) AS oldest, max(day) AS newest FROM usage_daily
