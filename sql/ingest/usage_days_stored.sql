-- Whether usage_daily has any row on a day of the batch's time span ($min_time, $max_time,
-- from batch_time_span.sql): when it has none, no usage row of the batch can match a
-- stored one, and ingest inserts them (insert_usage_daily.sql) instead of merging. DuckDB
-- skips the row groups whose min/max day lies outside the span.
SELECT count(*) > 0 AS stored
FROM usage_daily
WHERE day BETWEEN CAST($min_time::TIMESTAMP AS DATE) AND CAST($max_time::TIMESTAMP AS DATE);
