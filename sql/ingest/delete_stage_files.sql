-- Drop the staged rows of some files of the batch (before staging them again). $file_nos: list.
DELETE FROM ingest_stage WHERE list_contains($file_nos::INTEGER[], file_no);
