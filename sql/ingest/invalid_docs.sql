-- Files of the batch's Arrow table ingest_docs whose content is not one valid JSON document
-- (damaged or concatenated objects): they leave the fast path for the documents path or
-- recovery, so one bad file does not fail its batch. No $parameters.
SELECT file_no
FROM ingest_docs
WHERE NOT coalesce(json_valid(json), false)
ORDER BY file_no;
