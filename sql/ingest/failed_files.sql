-- Files and folders earlier runs could not read (status failed). No $parameters.
SELECT uri FROM ingest_files WHERE status = 'failed' ORDER BY uri;
