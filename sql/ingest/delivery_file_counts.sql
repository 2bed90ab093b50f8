-- Per delivery file of the open batch: the rows insert_delivery.sql stored and how many of
-- them are placeholders (event_id '') for records it could not take. Files with no rows at
-- all (not valid JSON, or no records) are absent. $batch_id.
SELECT f.file_no, count(*) AS records, count(*) FILTER (WHERE e.event_id = '') AS placeholders
FROM events AS e
JOIN ingest_batch_files AS f ON f.uri = e.source_uri
WHERE e.batch_id = $batch_id
GROUP BY f.file_no
ORDER BY f.file_no;
