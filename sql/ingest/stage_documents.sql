-- Stage every other shape, keeping each record's raw JSON: JSON Lines of records, bare JSON
-- arrays, pretty-printed delivery objects, EventBridge envelopes (record in "detail"),
-- lookup-events output ({"Events":[...]} or lines, record as a JSON string in
-- "CloudTrailEvent"), and the NDJSON ingest writes when it recovers a damaged file (where a
-- {"__recommender_reject__": reason, "snippet": ...} line stands for an unreadable part).
-- $paths: local files (registered in ingest_batch_files); $compression: 'gzip' or 'none';
-- $max_object: largest JSON document accepted, in bytes.
INSERT INTO ingest_stage
WITH docs AS (
    SELECT filename, ordinality AS doc_no, json AS doc,
           coalesce(json_type(doc) = 'OBJECT'
                    AND (json_type(doc, '$.Records') = 'ARRAY' OR json_type(doc, '$.Events') = 'ARRAY'),
                    false) AS is_container
    FROM read_json_objects($paths, format = 'auto', filename = true,
                           compression = $compression, maximum_object_size = $max_object)
         WITH ORDINALITY
),
items AS (
    SELECT filename, doc_no, unnest(range(len(elems))) AS sub, unnest(elems) AS item
    FROM (SELECT filename, doc_no,
                 CASE WHEN json_type(doc, '$.Records') = 'ARRAY' THEN json_extract(doc, '$.Records[*]')
                      ELSE json_extract(doc, '$.Events[*]') END AS elems
          FROM docs WHERE is_container)
    UNION ALL
    SELECT filename, doc_no, 0 AS sub, doc AS item FROM docs WHERE NOT is_container
),
unwrapped AS (
    SELECT filename, doc_no, sub, item,
           coalesce(json_type(item, '$."__recommender_reject__"') = 'VARCHAR', false) AS is_marker,
           coalesce(json_type(item, '$.CloudTrailEvent') = 'VARCHAR', false) AS is_lookup,
           coalesce(json_type(item, '$.detail') = 'OBJECT'
                    AND json_type(item, '$."detail-type"') = 'VARCHAR', false) AS is_envelope
    FROM items
),
records AS (
    SELECT filename, doc_no, sub, item, is_marker,
           CASE
               WHEN is_marker THEN NULL
               WHEN is_lookup THEN CASE WHEN json_valid(item ->> 'CloudTrailEvent')
                                        THEN json(item ->> 'CloudTrailEvent') END
               WHEN is_envelope THEN item -> 'detail'
               ELSE item
           END AS rec,
           CASE WHEN is_envelope AND NOT is_marker AND NOT ((item ->> 'detail-type') LIKE '%via CloudTrail')
                THEN 'EventBridge event that is not from CloudTrail: ' || left(item ->> 'detail-type', 100)
           END AS skip,
           CASE
               WHEN is_marker THEN item ->> '__recommender_reject__'
               WHEN is_lookup AND NOT json_valid(item ->> 'CloudTrailEvent')
                   THEN 'CloudTrailEvent string is not valid JSON'
           END AS pre_reason
    FROM unwrapped
)
SELECT f.file_no,
       row_number() OVER (PARTITION BY rs.filename ORDER BY rs.doc_no, rs.sub) - 1 AS idx,
       cloudtrail_record(coalesce(rs.rec, '{}'::JSON)) AS r,
       CASE WHEN rs.is_marker THEN to_json(rs.item ->> 'snippet') ELSE coalesce(rs.rec, rs.item) END AS raw,
       rs.skip, rs.pre_reason
FROM records AS rs
JOIN ingest_batch_files AS f ON f.path = rs.filename;
