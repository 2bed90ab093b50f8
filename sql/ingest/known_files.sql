-- What earlier runs recorded for these files, to read only new or changed ones.
-- $uris: list of file uris.
SELECT uri, size, mtime, etag, status
FROM ingest_files
WHERE list_contains($uris::VARCHAR[], uri);
