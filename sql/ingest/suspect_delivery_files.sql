-- Files staged on the fast path that hold records validation would reject, or records
-- without eventID: they are staged again on the documents path, which keeps each record's
-- raw JSON, so rejects get their exact reason and snippet and ids their canonical hash.
-- No $parameters.
SELECT DISTINCT file_no
FROM ingest_stage
WHERE raw IS NULL
  AND (nullif(r.eventID, '') IS NULL OR nullif(r.eventSource, '') IS NULL OR nullif(r.eventName, '') IS NULL
       OR coalesce(r.eventTime, r."@timestamp") IS NULL)
ORDER BY file_no;
