-- Empty temp table ingest_rows: one row per record of the current batch with its events
-- columns, a reject reason (NULL when valid), a skip reason, a snippet (rejects only) and
-- needs_raw (a fast-path record to be read again with its raw JSON). Filled by
-- stage_delivery (fast path, parse and extract in one statement) and extract_rows (every
-- other shape, from ingest_stage); INSERT ... BY NAME, so column order does not matter.
-- No $parameters.
CREATE OR REPLACE TEMP TABLE ingest_rows AS
SELECT 0::INTEGER AS file_no, 0::BIGINT AS idx, false AS ct_like, NULL::VARCHAR AS skip,
       NULL::VARCHAR AS reason, NULL::VARCHAR AS snippet, false AS needs_raw, e.*
FROM events AS e
LIMIT 0;
