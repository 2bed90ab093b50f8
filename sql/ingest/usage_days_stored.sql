-- Whether usage_daily has any row on a day of the batch's time span ($min_time, $max_time,
-- from batch_time_span.sql): when it has none, no usage row of the batch can match a
-- stored one, and ingest appends them (append_usage_daily.sql) instead of merging. The
-- days are a leading key of every row, so DuckDB answers from its min/max zone maps.
SELECT count(*) > 0 AS stored
FROM usage_daily
WHERE day BETWEEN CAST($min_time::TIMESTAMP AS DATE) AND CAST($max_time::TIMESTAMP AS DATE);
