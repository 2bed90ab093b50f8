-- Record (or replace) the bookkeeping row of each file read in this batch.
-- $uris, $sizes, $mtimes, $etags, $records, $stored, $duplicates, $rejected,
-- $skipped_records, $statuses, $errors: parallel lists; $ingested_at: timestamp.
INSERT OR REPLACE INTO ingest_files
    (uri, size, mtime, etag, records, stored, duplicates, rejected, skipped_records, status,
     error, ingested_at)
SELECT unnest($uris::VARCHAR[]), unnest($sizes::BIGINT[]), unnest($mtimes::TIMESTAMP[]),
       unnest($etags::VARCHAR[]), unnest($records::BIGINT[]), unnest($stored::BIGINT[]),
       unnest($duplicates::BIGINT[]), unnest($rejected::BIGINT[]),
       unnest($skipped_records::BIGINT[]), unnest($statuses::VARCHAR[]),
       unnest($errors::VARCHAR[]), $ingested_at::TIMESTAMP;
