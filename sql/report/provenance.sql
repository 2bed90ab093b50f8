-- What data the report was made from: events stored and their time range, ingest
-- runs and files, rejected records. No parameters.
SELECT (SELECT count(*) FROM events) AS events,
       (SELECT min(event_time) FROM events) AS first_event,
       (SELECT max(event_time) FROM events) AS last_event,
       (SELECT count(DISTINCT principal_arn) FROM events WHERE principal_arn IS NOT NULL) AS principals_seen,
       (SELECT count(*) FROM ingest_runs) AS ingest_runs,
       (SELECT max(coalesce(finished_at, started_at)) FROM ingest_runs) AS last_ingest_at,
       (SELECT count(*) FROM ingest_files) AS files,
       (SELECT coalesce(sum(records), 0) FROM ingest_files) AS records,
       (SELECT count(*) FROM rejects) AS rejected,
       (SELECT min(day) FROM usage_daily) AS first_day,
       (SELECT max(day) FROM usage_daily) AS last_day
