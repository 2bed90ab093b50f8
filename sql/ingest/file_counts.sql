-- Per-file reconciliation of the batch: records (read and not skipped) = stored + duplicates
-- + rejected; skipped records and their reasons listed apart. A file was read either by
-- insert_delivery.sql (ingest_direct holds its record count; all its records were valid)
-- or by the documents path (ingest_rows). Duplicates are no longer in ingest_rows or events
-- (drop_duplicates.sql, drop_direct_duplicates.sql): they are counted from ingest_dups.
-- No $parameters.
SELECT f.file_no,
       coalesce(any_value(x.records), count(r.idx) FILTER (WHERE r.skip IS NULL))
           + CASE WHEN any_value(x.records) IS NULL THEN coalesce(any_value(d.duplicates), 0) ELSE 0 END
           AS records,
       count(r.idx) FILTER (WHERE r.skip IS NULL AND r.reason IS NOT NULL) AS rejected,
       count(r.idx) FILTER (WHERE r.skip IS NOT NULL) AS skipped_records,
       coalesce(string_agg(DISTINCT r.skip, '; ' ORDER BY r.skip), '') AS skip_reasons,
       coalesce(any_value(x.records) - coalesce(any_value(d.duplicates), 0),
                count(r.idx) FILTER (WHERE r.skip IS NULL AND r.reason IS NULL)) AS stored
FROM ingest_batch_files AS f
LEFT JOIN ingest_rows AS r USING (file_no)
LEFT JOIN ingest_direct AS x USING (file_no)
LEFT JOIN (SELECT file_no, count(*) AS duplicates FROM ingest_dups GROUP BY file_no) AS d
       USING (file_no)
GROUP BY f.file_no
ORDER BY f.file_no;
