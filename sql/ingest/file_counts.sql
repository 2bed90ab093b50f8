-- Per-file reconciliation of the batch: records (read and not skipped) = stored + duplicates
-- + rejected; skipped records and their reasons listed apart. Duplicates are no longer in
-- ingest_rows (drop_duplicates.sql): they are counted from ingest_dups. No $parameters.
SELECT f.file_no,
       count(r.idx) FILTER (WHERE r.skip IS NULL) + coalesce(any_value(d.duplicates), 0) AS records,
       count(r.idx) FILTER (WHERE r.skip IS NULL AND r.reason IS NOT NULL) AS rejected,
       count(r.idx) FILTER (WHERE r.skip IS NOT NULL) AS skipped_records,
       coalesce(string_agg(DISTINCT r.skip, '; ' ORDER BY r.skip), '') AS skip_reasons,
       count(r.idx) FILTER (WHERE r.skip IS NULL AND r.reason IS NULL) AS stored
FROM ingest_batch_files AS f
LEFT JOIN ingest_rows AS r USING (file_no)
LEFT JOIN (SELECT file_no, count(*) AS duplicates FROM ingest_dups GROUP BY file_no) AS d
       USING (file_no)
GROUP BY f.file_no
ORDER BY f.file_no;
