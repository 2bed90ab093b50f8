-- What a prune with cutoff $cutoff (TIMESTAMP) would delete: events older than it and the
-- rejects recorded by ingest runs that started before it; plus what stays.
SELECT
    (SELECT count(*) FROM events WHERE event_time < $cutoff) AS events,
    (SELECT count(*) FROM rejects WHERE run_id IN
        (SELECT run_id FROM ingest_runs WHERE started_at < $cutoff)) AS rejects,
    (SELECT count(*) FROM events WHERE event_time >= $cutoff) AS events_kept,
    (SELECT min(event_time) FROM events WHERE event_time >= $cutoff) AS oldest_kept,
    (SELECT count(*) FROM usage_daily) AS usage_daily_rows,
    (SELECT count(*) FROM sessions_daily) AS sessions_daily_rows;
