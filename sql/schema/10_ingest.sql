-- Tables of the ingest stage (contract: docs/architecture.md) and the macros its SQL shares.
-- No $parameters. Idempotent: runs on connect (see db.ensure_schema).
--
-- events has no PRIMARY KEY on purpose: an ART index over millions of event ids costs
-- memory and insert time; ingest deduplicates with an anti-join instead.
--
-- batch_id: the ingest batch that stored the row (ingest_batches). Delivery objects are
-- inserted straight into events while their batch is still open (insert_delivery.sql), so
-- rows whose batch_id is above the last committed batch belong to an ingest that was
-- interrupted; discard_unfinished.sql removes them. NULL on rows stored before the column
-- existed.

CREATE TABLE IF NOT EXISTS events (
    event_id VARCHAR NOT NULL,
    event_time TIMESTAMP NOT NULL,
    event_version VARCHAR,
    event_source VARCHAR NOT NULL,
    event_name VARCHAR NOT NULL,
    event_type VARCHAR,
    event_category VARCHAR,
    read_only BOOLEAN,
    aws_region VARCHAR,
    recipient_account_id VARCHAR,
    principal_arn VARCHAR,
    principal_type VARCHAR,
    principal_account_id VARCHAR,
    session_name VARCHAR,
    source_identity VARCHAR,
    access_key_id VARCHAR,
    invoked_by VARCHAR,
    user_agent VARCHAR,
    source_ip VARCHAR,
    vpc_endpoint_id VARCHAR,
    error_code VARCHAR,
    error_message VARCHAR,
    resources STRUCT(arn VARCHAR, "type" VARCHAR, account_id VARCHAR)[],
    request_parameters JSON,
    source_uri VARCHAR,
    ingested_at TIMESTAMP,
    batch_id BIGINT
);

-- Databases created before batch_id existed get the column (NULL on their rows).
ALTER TABLE events ADD COLUMN IF NOT EXISTS batch_id BIGINT;

CREATE TABLE IF NOT EXISTS usage_daily (
    principal_arn VARCHAR,
    account_id VARCHAR,
    event_source VARCHAR,
    event_name VARCHAR,
    resource_arn VARCHAR,
    resource_kind VARCHAR,
    outcome VARCHAR,
    day DATE,
    calls BIGINT,
    first_seen TIMESTAMP,
    last_seen TIMESTAMP
);

CREATE TABLE IF NOT EXISTS sessions_daily (
    principal_arn VARCHAR,
    day DATE,
    session_name VARCHAR,
    source_identity VARCHAR,
    user_agent VARCHAR,
    source_ip VARCHAR,
    access_key_id VARCHAR,
    calls BIGINT
);

-- skipped_records (added to the contract): records read but deliberately not stored
-- (Insight events, EventBridge events that are not from CloudTrail); status is
-- ok | rejections | skipped | failed; error holds the skip reason or the failure.
CREATE TABLE IF NOT EXISTS ingest_files (
    uri VARCHAR PRIMARY KEY,
    size BIGINT,
    mtime TIMESTAMP,
    etag VARCHAR,
    records BIGINT,
    stored BIGINT,
    duplicates BIGINT,
    rejected BIGINT,
    skipped_records BIGINT,
    status VARCHAR,
    error VARCHAR,
    ingested_at TIMESTAMP
);

CREATE TABLE IF NOT EXISTS rejects (
    uri VARCHAR,
    record_index BIGINT,
    reason VARCHAR,
    snippet VARCHAR,
    run_id BIGINT
);

CREATE SEQUENCE IF NOT EXISTS ingest_run_seq START 1;

-- One row per committed ingest batch, written in the batch's own transaction: a batch
-- without its row here did not finish (see events.batch_id).
CREATE TABLE IF NOT EXISTS ingest_batches (
    batch_id BIGINT PRIMARY KEY,
    run_id BIGINT,
    files BIGINT,
    stored BIGINT,
    committed_at TIMESTAMP
);

CREATE TABLE IF NOT EXISTS ingest_runs (
    run_id BIGINT PRIMARY KEY,
    started_at TIMESTAMP,
    finished_at TIMESTAMP,
    files BIGINT,
    records BIGINT,
    stored BIGINT,
    duplicates BIGINT,
    rejected BIGINT,
    skipped_files BIGINT
);

-- How each run ended: 'ok', or 'failed: <reason>' for a run stopped by an error, --strict
-- or Ctrl-C (its totals are those of the batches it committed before). NULL while it runs,
-- and on runs from before the column.
ALTER TABLE ingest_runs ADD COLUMN IF NOT EXISTS status VARCHAR;

-- The fields ingest reads from a CloudTrail record, as a json_transform structure: only
-- those the events columns and validation use (each field costs parse time on every
-- record). Missing keys become NULL; nested objects read as VARCHAR keep their JSON text.
CREATE OR REPLACE MACRO cloudtrail_record_spec() AS '{
  "eventVersion": "VARCHAR", "eventID": "VARCHAR", "eventTime": "VARCHAR", "@timestamp": "VARCHAR",
  "eventSource": "VARCHAR", "eventName": "VARCHAR", "eventType": "VARCHAR", "eventCategory": "VARCHAR",
  "readOnly": "VARCHAR", "awsRegion": "VARCHAR", "recipientAccountId": "VARCHAR",
  "sourceIPAddress": "VARCHAR", "userAgent": "VARCHAR", "vpcEndpointId": "VARCHAR",
  "errorCode": "VARCHAR", "errorMessage": "VARCHAR",
  "userIdentity": {"type": "VARCHAR", "arn": "VARCHAR", "accountId": "VARCHAR",
                   "accessKeyId": "VARCHAR", "invokedBy": "VARCHAR",
                   "sessionContext": {"sourceIdentity": "VARCHAR", "sessionIssuer": {"arn": "VARCHAR"}}},
  "resources": [{"ARN": "VARCHAR", "accountId": "VARCHAR", "type": "VARCHAR"}],
  "requestParameters": "JSON", "insightDetails": "JSON"
}';

-- One record (a JSON object) as a struct; anything else gives a struct of NULLs.
CREATE OR REPLACE MACRO cloudtrail_record(j) AS json_transform(j, cloudtrail_record_spec());

-- The records of an S3 delivery object {"Records": [...]}, parsed in one pass.
CREATE OR REPLACE MACRO cloudtrail_delivery(j) AS
    json_transform(j, '{"Records": [' || cloudtrail_record_spec() || ']}').Records;

-- A record's id: its eventID, or for records without one (early eventVersions) "sha256:"
-- and the sha256 of its canonical JSON: the whole raw record minified by DuckDB (no
-- whitespace, keys in the order written), so reformatting the file does not change it.
-- Ingest reads such records with their raw JSON (stage_documents) for this.
CREATE OR REPLACE MACRO cloudtrail_event_id(r, raw) AS
    coalesce(nullif(r.eventID, ''), 'sha256:' || sha256(json(raw)::VARCHAR));

-- ok, denied (AccessDenied-class: AccessDenied, AccessDeniedException,
-- Client.UnauthorizedOperation, UnauthorizedAccess, Forbidden, AuthorizationError,
-- NotAuthorized...) or error (any other errorCode).
-- Who made the call, as the analysis groups it: an assumed-role (or federated) session
-- belongs to the role that issued it (sessionIssuer.arn, path included); an old record
-- without an issuer gets the role ARN rebuilt from the assumed-role ARN (path kept);
-- IAM users keep their ARN; AWS services are named by invokedBy.
CREATE OR REPLACE MACRO cloudtrail_principal_arn(ui, issuer_arn) AS CASE
    WHEN ui.type IN ('AssumedRole', 'FederatedUser') AND issuer_arn IS NOT NULL THEN issuer_arn
    WHEN ui.type = 'AssumedRole' AND regexp_matches(ui.arn, '^arn:[^:]+:sts::[0-9]*:assumed-role/.+/[^/]*$')
        THEN regexp_replace(ui.arn, '^arn:([^:]+):sts::([0-9]*):assumed-role/(.+)/[^/]*$', 'arn:\1:iam::\2:role/\3')
    WHEN nullif(ui.arn, '') IS NOT NULL THEN ui.arn
    ELSE nullif(ui.invokedBy, '')
END;

-- The session part of an assumed-role or federated-user ARN. For assumed roles it is what
-- follows the last "/" (session names cannot contain one; role paths can), taken with
-- string functions: a regular expression here cost ~0.3 s per 500,000 records.
CREATE OR REPLACE MACRO cloudtrail_session_name(ui) AS CASE
    WHEN ui.type = 'AssumedRole' THEN CASE WHEN strpos(split_part(ui.arn, ':assumed-role/', 2), '/') > 1
                                           THEN nullif(split_part(ui.arn, '/', -1), '') END
    WHEN ui.type = 'FederatedUser' THEN nullif(regexp_extract(ui.arn, ':federated-user/(.+)$', 1), '')
END;

-- When a record happened: eventTime, or "@timestamp" for Logstash-processed records
-- without one; the usual CloudTrail form is tried first (cheap), any ISO 8601 offset form
-- after; a time without a zone is UTC (connections run in UTC: common/time_zone.sql).
-- NULL when it is not a timestamp (the record is rejected).
CREATE OR REPLACE MACRO cloudtrail_time_text(r) AS coalesce(r.eventTime, r."@timestamp");

CREATE OR REPLACE MACRO cloudtrail_event_time(r) AS
    coalesce(try_strptime(cloudtrail_time_text(r), '%Y-%m-%dT%H:%M:%SZ'),
             try_cast(cloudtrail_time_text(r) AS TIMESTAMPTZ) AT TIME ZONE 'UTC');

-- The events columns taken from a parsed record (cloudtrail_record) as they are, with
-- attribution, as one struct: both paths (insert_delivery.sql, extract_rows.sql)
-- select unnest(cloudtrail_event_fields(r)) next to the columns they validate themselves
-- (event_id, event_time, event_source, event_name).
CREATE OR REPLACE MACRO cloudtrail_event_fields(r) AS {
    'event_version': r.eventVersion,
    'event_type': r.eventType,
    'event_category': r.eventCategory,
    'read_only': try_cast(lower(r.readOnly) AS BOOLEAN),
    'aws_region': r.awsRegion,
    'recipient_account_id': r.recipientAccountId,
    'principal_arn': cloudtrail_principal_arn(
        r.userIdentity, nullif(r.userIdentity.sessionContext.sessionIssuer.arn, '')),
    'principal_type': r.userIdentity.type,
    'principal_account_id': r.userIdentity.accountId,
    'session_name': cloudtrail_session_name(r.userIdentity),
    'source_identity': nullif(r.userIdentity.sessionContext.sourceIdentity, ''),
    'access_key_id': nullif(r.userIdentity.accessKeyId, ''),
    'invoked_by': nullif(r.userIdentity.invokedBy, ''),
    'user_agent': r.userAgent,
    'source_ip': r.sourceIPAddress,
    'vpc_endpoint_id': r.vpcEndpointId,
    'error_code': nullif(r.errorCode, ''),
    'error_message': r.errorMessage,
    'resources': [{'arn': y.ARN, 'type': y."type", 'account_id': y.accountId} FOR y IN r.resources],
    'request_parameters': r.requestParameters
};

CREATE OR REPLACE MACRO cloudtrail_outcome(error_code) AS CASE
    WHEN error_code IS NULL OR error_code = '' THEN 'ok'
    WHEN regexp_matches(error_code, '(?i)(accessdenied|unauthorized|forbidden|authorizationerror|notauthorized)')
        THEN 'denied'
    ELSE 'error' END;

-- usage_daily rows of a table of calls already grouped by caller, call, outcome, day,
-- resources[] and request (columns principal_arn, account_id, event_source, event_name,
-- outcome, day, resources, request_parameters, aws_region, calls, first_seen, last_seen):
-- the resources each touched, with the calls summed. Used by usage_daily_rows and by the
-- Athena path, whose query returns such groups. Three ways, each giving what
-- event_touched_resources_of gives for its calls:
--   * no request: CloudTrail's resources[] alone (nothing is derived from no request);
--   * S3 with neither versionId nor x-amz-copy-source: resources[] plus the bucket and
--     object the request names, built here (er_s3_spec says why);
--   * every other call: event_touched_resources_of.
CREATE OR REPLACE MACRO usage_from_calls(tbl) AS TABLE
    WITH s3 AS MATERIALIZED (
        SELECT *, nullif(s3q.versionId, '') IS NULL AND nullif(s3q."x-amz-copy-source", '') IS NULL AS simple
        FROM (SELECT *, json_transform(request_parameters::JSON, er_s3_spec()) AS s3q
              FROM query_table(tbl)
              WHERE event_source = 's3.amazonaws.com' AND request_parameters IS NOT NULL)
    ),
    s3_simple AS (
        SELECT * EXCLUDE (s3q, simple, bucket, object),
               CASE WHEN bucket IS NOT NULL THEN er_item('arn:' || er_p || ':s3:::' || bucket, 'AWS::S3::Bucket') END AS b,
               CASE WHEN bucket IS NOT NULL AND object IS NOT NULL
                    THEN er_item('arn:' || er_p || ':s3:::' || bucket || '/' || object, 'AWS::S3::Object') END AS o
        FROM (SELECT *, nullif(s3q.bucketName, '') AS bucket, nullif(s3q."key", '') AS object,
                     er_partition(coalesce(aws_region, '')) AS er_p,
                     er_listed(resources) AS listed
              FROM s3
              WHERE simple)
    ),
    -- The arguments of event_touched_resources_of once per call, materialised: inlined
    -- into the derivation, the request would be parsed once per use (~3x slower).
    calls AS MATERIALIZED (
        SELECT principal_arn, account_id, event_source, event_name, outcome, day, resources,
               calls, first_seen, last_seen,
               er_operation(event_name) AS er_op, request_parameters::JSON AS er_rp,
               er_params(request_parameters::JSON) AS er_q, coalesce(aws_region, '') AS er_region,
               er_partition(coalesce(aws_region, '')) AS er_p
        FROM (SELECT * FROM query_table(tbl)
              WHERE request_parameters IS NOT NULL AND event_source IS DISTINCT FROM 's3.amazonaws.com'
              UNION ALL
              SELECT * EXCLUDE (s3q, simple) FROM s3
              WHERE NOT simple)
    ),
    touched AS (
        SELECT principal_arn, account_id, event_source, event_name, outcome, day, calls, first_seen, last_seen,
               er_distinct(er_listed(resources)) AS touched
        FROM query_table(tbl)
        WHERE request_parameters IS NULL
        UNION ALL
        -- (list_contains, not er_distinct over all four: the bucket and object are
        -- usually listed already, and list_distinct on four items is the slow part)
        SELECT principal_arn, account_id, event_source, event_name, outcome, day, calls, first_seen, last_seen,
               flatten([er_distinct(listed),
                        CASE WHEN b IS NOT NULL AND NOT list_contains(listed, b) THEN [b] ELSE [] END,
                        CASE WHEN o IS NOT NULL AND NOT list_contains(listed, o) THEN [o] ELSE [] END])
        FROM s3_simple
        UNION ALL
        SELECT principal_arn, account_id, event_source, event_name, outcome, day, calls, first_seen, last_seen,
               event_touched_resources_of(event_source, er_op, resources, er_rp, er_q, account_id, er_region, er_p)
        FROM calls
    )
    SELECT principal_arn, account_id, event_source, event_name,
           res.arn AS resource_arn, res.kind AS resource_kind, outcome, day,
           CAST(sum(calls) AS BIGINT) AS calls, min(first_seen) AS first_seen, max(last_seen) AS last_seen
    FROM (
        -- One row per resource, or one with no resource.
        SELECT principal_arn, account_id, event_source, event_name, outcome, day,
               calls, first_seen, last_seen,
               unnest(coalesce(nullif(touched, []), [{'arn': NULL::VARCHAR, 'kind': NULL::VARCHAR}])) AS res
        FROM touched
    )
    GROUP BY ALL;

-- usage_daily rows of a table shaped like events (batch merges and rebuilds). Identical
-- calls are grouped first: the same caller, call, outcome, day, resources[] and request
-- touch the same resources, so the derivation runs once per distinct call (repeated
-- Invoke, InvokeModel, Decrypt, AssumeRole calls collapse), not once per event. The
-- request is part of the group only as far as the derivation reads it (er_request_key):
-- not at all for most services, whose calls group by resources[]; for DynamoDB and KMS
-- only the fields read, so GetItem calls with different item keys are one group.
CREATE OR REPLACE MACRO usage_daily_rows(tbl) AS TABLE
    -- (The request key is materialised before the grouping: otherwise the optimiser
    -- pushes usage_from_calls' filters on it below the grouping, and computes it again.)
    WITH keyed AS MATERIALIZED (
        SELECT principal_arn, coalesce(recipient_account_id, principal_account_id) AS account_id,
               event_source, event_name, cloudtrail_outcome(error_code) AS outcome,
               CAST(event_time AS DATE) AS day, resources,
               er_request_key(event_source, request_parameters) AS request_parameters,
               aws_region, event_time
        FROM query_table(tbl)
    ),
    distinct_calls AS MATERIALIZED (
        SELECT * EXCLUDE (event_time),
               count(*) AS calls, min(event_time) AS first_seen, max(event_time) AS last_seen
        FROM keyed
        GROUP BY ALL
    )
    SELECT * FROM usage_from_calls('distinct_calls');

-- sessions_daily rows of a table shaped like events.
CREATE OR REPLACE MACRO sessions_daily_rows(tbl) AS TABLE
    SELECT principal_arn, CAST(event_time AS DATE) AS day, session_name, source_identity,
           user_agent, source_ip, access_key_id, count(*) AS calls
    FROM query_table(tbl)
    GROUP BY ALL;
