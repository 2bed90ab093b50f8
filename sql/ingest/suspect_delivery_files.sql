-- Files staged on the fast path that hold records validation would reject, or records
-- without eventID (needs_raw, set by stage_delivery): they are staged again on the
-- documents path, which keeps each record's raw JSON, so rejects get their exact reason
-- and snippet and ids their canonical hash. No $parameters.
SELECT DISTINCT file_no
FROM ingest_rows
WHERE needs_raw
ORDER BY file_no;
