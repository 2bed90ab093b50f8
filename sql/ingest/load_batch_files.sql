-- Register the files of the current batch. $file_nos, $paths, $uris: parallel lists.
INSERT INTO ingest_batch_files
SELECT unnest($file_nos::INTEGER[]), unnest($paths::VARCHAR[]), unnest($uris::VARCHAR[]);
