-- Remove the documents path's duplicates (ingest_dups rows with an idx, from
-- batch_duplicates.sql) from ingest_rows; file_counts.sql counts them per file from
-- ingest_dups. No $parameters.
DELETE FROM ingest_rows AS r
WHERE EXISTS (SELECT 1 FROM ingest_dups AS d WHERE d.file_no = r.file_no AND d.idx = r.idx);
