-- Record aggregated days in ingest_files, so a later run does not count them again.
-- $uris, $records: one entry per day; $ingested_at: timestamp of this run.
INSERT OR REPLACE INTO ingest_files
    (uri, size, mtime, etag, records, stored, duplicates, rejected, skipped_records, status, error, ingested_at)
SELECT u.uri, 0, NULL, NULL, u.records, u.records, 0, 0, 0, 'ok', NULL, $ingested_at
FROM (SELECT unnest($uris::VARCHAR[]) AS uri, unnest($records::BIGINT[]) AS records) AS u;
