-- Point a file of the batch at the NDJSON its recovery wrote. $file_no, $path.
UPDATE ingest_batch_files SET path = $path WHERE file_no = $file_no;
