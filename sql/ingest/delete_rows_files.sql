-- Drop the rows of files skipped as a whole. $file_nos: list.
DELETE FROM ingest_rows WHERE list_contains($file_nos::INTEGER[], file_no);
