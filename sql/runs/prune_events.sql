-- Delete events older than $cutoff (TIMESTAMP). usage_daily and sessions_daily keep their
-- rows: they are the aggregates the analysis and the history read.
DELETE FROM events WHERE event_time < $cutoff;
