-- The first rejected records of the batch, for --strict's error message. $limit: how many.
SELECT source_uri AS uri, idx AS record_index, reason
FROM ingest_rows
WHERE reason IS NOT NULL AND skip IS NULL
ORDER BY file_no, idx
LIMIT $limit;
