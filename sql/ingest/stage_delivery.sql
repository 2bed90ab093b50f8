-- Stage S3 delivery objects ({"Records":[...]} on one line, what CloudTrail writes to S3):
-- each file is parsed once straight into record structs, the fast path for the common case.
-- $paths: local files (all registered in ingest_batch_files); $compression: 'gzip' or 'none';
-- $max_object: largest JSON document accepted, in bytes.
INSERT INTO ingest_stage
SELECT f.file_no,
       unnest(range(len(d.recs))) AS idx,
       unnest(d.recs) AS r,
       NULL::JSON AS raw, NULL::VARCHAR AS skip, NULL::VARCHAR AS pre_reason
FROM (
    SELECT filename, coalesce(cloudtrail_delivery(json), []) AS recs
    FROM read_ndjson_objects($paths, filename = true, compression = $compression,
                             maximum_object_size = $max_object)
) AS d
JOIN ingest_batch_files AS f ON f.path = d.filename;
