-- Empty temp table ingest_stage: one row per record read on the documents path in the
-- current batch (delivery objects go straight to events, insert_delivery.sql), before
-- validation (file_no, idx = record index in its file, r = parsed record, raw = its JSON
-- when read on the documents path, skip / pre_reason decided while unwrapping). No $parameters.
CREATE OR REPLACE TEMP TABLE ingest_stage AS
SELECT 0::INTEGER AS file_no, 0::BIGINT AS idx, cloudtrail_record('{}'::JSON) AS r,
       NULL::JSON AS raw, NULL::VARCHAR AS skip, NULL::VARCHAR AS pre_reason
LIMIT 0;
