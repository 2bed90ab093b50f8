-- Empty temp table ingest_rows: one row per record of the current batch read on the
-- documents path, with its events columns, a reject reason (NULL when valid), a skip reason
-- and a snippet (rejects only). Filled by extract_rows from ingest_stage; INSERT ... BY
-- NAME, so column order does not matter. (Delivery objects skip it: insert_delivery.sql
-- stores them straight into events.) No $parameters.
CREATE OR REPLACE TEMP TABLE ingest_rows AS
SELECT 0::INTEGER AS file_no, 0::BIGINT AS idx, false AS ct_like, NULL::VARCHAR AS skip,
       NULL::VARCHAR AS reason, NULL::VARCHAR AS snippet, e.*
FROM events AS e
LIMIT 0;
