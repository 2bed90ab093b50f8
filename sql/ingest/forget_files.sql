-- Forget what earlier runs recorded for these uris (folders that failed before and are
-- listed now). $uris: list of uris.
DELETE FROM ingest_files WHERE list_contains($uris::VARCHAR[], uri);
