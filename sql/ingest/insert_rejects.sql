-- Keep every rejected record of the batch with its reason and a raw snippet. $run_id.
INSERT INTO rejects (uri, record_index, reason, snippet, run_id)
SELECT source_uri, idx, reason, snippet, $run_id
FROM ingest_rows
WHERE reason IS NOT NULL AND skip IS NULL
ORDER BY file_no, idx;
