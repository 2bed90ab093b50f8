-- Forget the load errors of files being loaded again. $files: their paths/URIs.
DELETE FROM iam_load_errors WHERE file IN (SELECT unnest($files::VARCHAR[]))
