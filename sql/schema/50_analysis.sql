-- The analysis stage's tables: the verdict per (principal, action), the findings, the
-- run history (read by the report for trends), and the data-event families that
-- decide what CloudTrail can be expected to record. No parameters.

-- One row per (principal_arn, action, status). A granted action has exactly one of
-- used / unused / never_needed / unobservable; denied and unexplained rows may sit
-- beside it (or stand alone for actions that are not granted).
CREATE TABLE IF NOT EXISTS role_action_status (
    principal_arn VARCHAR NOT NULL,
    action        VARCHAR NOT NULL,   -- catalog case (service:ActionName); unmapped calls: eventsource prefix:EventName
    status        VARCHAR NOT NULL,   -- used | unused | never_needed | unobservable | denied | unexplained
    calls         BIGINT,             -- used/denied/unexplained: calls in the window; unused: calls before it
    first_seen    TIMESTAMP,
    last_seen     TIMESTAMP,
    resources     VARCHAR[],          -- resources the calls touched (sorted), for the recommender
    why           VARCHAR,            -- the evidence in one sentence
    unobserved_resources VARCHAR[]    -- granted patterns on buckets/tables/functions with no data event logged (keep them)
);
-- Databases made before unobserved_resources existed get it here (CREATE TABLE IF NOT
-- EXISTS leaves an existing table alone); it lands last either way.
ALTER TABLE role_action_status ADD COLUMN IF NOT EXISTS unobserved_resources VARCHAR[];

CREATE TABLE IF NOT EXISTS findings (
    principal_arn VARCHAR,            -- NULL only for account-wide findings carried over from the grants stage
    kind          VARCHAR NOT NULL,   -- e.g. wildcard_grant, privilege_escalation, shared_role
    severity      VARCHAR NOT NULL,   -- critical | high | medium | low | info
    title         VARCHAR NOT NULL,
    detail        VARCHAR,
    evidence      JSON
);

CREATE SEQUENCE IF NOT EXISTS analysis_run_seq START 1;

CREATE TABLE IF NOT EXISTS analysis_runs (
    run_id        BIGINT PRIMARY KEY,
    created_at    TIMESTAMP NOT NULL,
    as_of         DATE,
    window_days   INTEGER NOT NULL,
    role_pattern  VARCHAR,            -- the --role filter of the run (NULL: every principal)
    principals    INTEGER,
    granted       BIGINT,
    used          BIGINT,
    unused        BIGINT,
    never_needed  BIGINT,
    unobservable  BIGINT,
    denied        BIGINT,
    unexplained   BIGINT
);

CREATE TABLE IF NOT EXISTS analysis_run_roles (
    run_id        BIGINT NOT NULL,
    principal_arn VARCHAR NOT NULL,
    granted       BIGINT,
    used          BIGINT,
    unused        BIGINT,
    never_needed  BIGINT,
    unobservable  BIGINT,
    denied        BIGINT,
    unexplained   BIGINT
);

-- Actions CloudTrail records only as data events, which trails do not log unless
-- configured to, or not at all. An action in a family is `unobservable` for an account
-- whose logs hold no event of that family (same read/write class); the list says what
-- CloudTrail can record, the logs say whether it was recorded. Actions are matched
-- case-insensitively by glob within `service`, or by catalog resource type when
-- `resource_type` is set.
CREATE OR REPLACE VIEW data_event_families AS
SELECT * FROM (VALUES
    ('s3_object', 's3', 's3.amazonaws.com', NULL, 'object', 'is recorded only as a CloudTrail data event',
     'https://docs.aws.amazon.com/AmazonS3/latest/userguide/cloudtrail-logging-s3-info.html#cloudtrail-data-events'),
    ('s3_object', 's3', 's3.amazonaws.com', 's3:ListBucket', NULL, 'is recorded only as a CloudTrail data event',
     'https://docs.aws.amazon.com/AmazonS3/latest/userguide/cloudtrail-logging-s3-info.html#cloudtrail-data-events'),
    ('s3_object', 's3', 's3.amazonaws.com', 's3:ListBucketVersions', NULL, 'is recorded only as a CloudTrail data event',
     'https://docs.aws.amazon.com/AmazonS3/latest/userguide/cloudtrail-logging-s3-info.html#cloudtrail-data-events'),
    ('s3_object', 's3', 's3.amazonaws.com', 's3:ListBucketMultipartUploads', NULL, 'is recorded only as a CloudTrail data event',
     'https://docs.aws.amazon.com/AmazonS3/latest/userguide/cloudtrail-logging-s3-info.html#cloudtrail-data-events'),
    ('lambda_invoke', 'lambda', 'lambda.amazonaws.com', 'lambda:InvokeFunction', NULL, 'is recorded only as a CloudTrail data event',
     'https://docs.aws.amazon.com/awscloudtrail/latest/userguide/logging-data-events-with-cloudtrail.html'),
    ('lambda_invoke', 'lambda', 'lambda.amazonaws.com', 'lambda:InvokeAsync', NULL, 'is recorded only as a CloudTrail data event',
     'https://docs.aws.amazon.com/awscloudtrail/latest/userguide/logging-data-events-with-cloudtrail.html'),
    ('dynamodb_item', 'dynamodb', 'dynamodb.amazonaws.com', 'dynamodb:*Item', NULL, 'is recorded only as a CloudTrail data event',
     'https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/logging-using-cloudtrail.html'),
    ('dynamodb_item', 'dynamodb', 'dynamodb.amazonaws.com', 'dynamodb:Query', NULL, 'is recorded only as a CloudTrail data event',
     'https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/logging-using-cloudtrail.html'),
    ('dynamodb_item', 'dynamodb', 'dynamodb.amazonaws.com', 'dynamodb:Scan', NULL, 'is recorded only as a CloudTrail data event',
     'https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/logging-using-cloudtrail.html'),
    ('dynamodb_item', 'dynamodb', 'dynamodb.amazonaws.com', 'dynamodb:PartiQL*', NULL, 'is recorded only as a CloudTrail data event',
     'https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/logging-using-cloudtrail.html'),
    ('dynamodb_item', 'dynamodb', 'dynamodb.amazonaws.com', 'dynamodb:GetRecords', NULL, 'is recorded only as a CloudTrail data event',
     'https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/logging-using-cloudtrail.html'),
    ('dynamodb_item', 'dynamodb', 'dynamodb.amazonaws.com', 'dynamodb:GetShardIterator', NULL, 'is recorded only as a CloudTrail data event',
     'https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/logging-using-cloudtrail.html'),
    ('sns_publish', 'sns', 'sns.amazonaws.com', 'sns:Publish', NULL, 'is recorded only as a CloudTrail data event',
     'https://docs.aws.amazon.com/awscloudtrail/latest/userguide/logging-data-events-with-cloudtrail.html'),
    ('bedrock_agent_runtime', 'bedrock', 'bedrock.amazonaws.com', 'bedrock:InvokeAgent', NULL, 'is recorded only as a CloudTrail data event',
     'https://docs.aws.amazon.com/bedrock/latest/userguide/logging-using-cloudtrail.html'),
    ('bedrock_agent_runtime', 'bedrock', 'bedrock.amazonaws.com', 'bedrock:InvokeInlineAgent', NULL, 'is recorded only as a CloudTrail data event',
     'https://docs.aws.amazon.com/bedrock/latest/userguide/logging-using-cloudtrail.html'),
    ('bedrock_agent_runtime', 'bedrock', 'bedrock.amazonaws.com', 'bedrock:Retrieve', NULL, 'is recorded only as a CloudTrail data event',
     'https://docs.aws.amazon.com/bedrock/latest/userguide/logging-using-cloudtrail.html'),
    ('bedrock_agent_runtime', 'bedrock', 'bedrock.amazonaws.com', 'bedrock:RetrieveAndGenerate', NULL, 'is recorded only as a CloudTrail data event',
     'https://docs.aws.amazon.com/bedrock/latest/userguide/logging-using-cloudtrail.html'),
    ('bedrock_agent_runtime', 'bedrock', 'bedrock.amazonaws.com', 'bedrock:InvokeFlow', NULL, 'is recorded only as a CloudTrail data event',
     'https://docs.aws.amazon.com/bedrock/latest/userguide/logging-using-cloudtrail.html'),
    ('bedrock_agent_runtime', 'bedrock', 'bedrock.amazonaws.com', 'bedrock:ApplyGuardrail', NULL, 'is recorded only as a CloudTrail data event',
     'https://docs.aws.amazon.com/bedrock/latest/userguide/logging-using-cloudtrail.html'),
    ('bedrock_agent_runtime', 'bedrock', 'bedrock.amazonaws.com', 'bedrock:RenderPrompt', NULL, 'is recorded only as a CloudTrail data event',
     'https://docs.aws.amazon.com/bedrock/latest/userguide/logging-using-cloudtrail.html'),
    ('cloudwatch_logs_ingest', 'logs', 'logs.amazonaws.com', 'logs:PutLogEvents', NULL,
     'is not recorded by CloudTrail at all (CloudWatch Logs ingestion)',
     'https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/logging_cw_api_calls_cwl.html')
) AS t(family, service, event_source, action_glob, resource_type, recorded_as, citation);

-- The resource scope a trail selects data events by, for a data-event family and an
-- ARN or grant pattern: the bucket (s3_object), the table ARN (dynamodb_item) or the
-- function ARN without qualifier (lambda_invoke). NULL for other families and for a
-- pattern whose scope part has a wildcard or policy variable (such grants fall back to
-- the account-wide rule). 'arn:aws:s3:::b/reports/*' -> 'b';
-- 'arn:aws:dynamodb:us-east-1:1:table/t/index/i' -> 'arn:aws:dynamodb:us-east-1:1:table/t'.
CREATE OR REPLACE MACRO data_event_scope(family, arn) AS
    nullif(CASE family
        WHEN 's3_object' THEN regexp_extract(arn, '^arn:[^:*?$]+:s3:::([^/*?$]+)(/|$)', 1)
        WHEN 'dynamodb_item' THEN
            regexp_extract(arn, '^(arn:[^:*?$]+:dynamodb:[^:*?$]+:[^:*?$]+:table/[^/*?$]+)(/|$)', 1)
        WHEN 'lambda_invoke' THEN
            regexp_extract(arn, '^(arn:[^:*?$]+:lambda:[^:*?$]+:[^:*?$]+:function:[^:*?$]+)(:|$)', 1)
    END, '');

-- Permissions that no API call records under their own name: IAM checks them inside
-- another call. They are inferred from the calls that need them (mapping rules with
-- `when_param` / resource_kind `passed_role`); only when no rule infers them are they
-- unobservable.
CREATE OR REPLACE VIEW permission_only_actions AS
SELECT * FROM (VALUES
    ('iam:PassRole',
     'https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html')
) AS t(action, citation);

-- ---- helpers for the findings (documented in docs/analysis-schema.md) ------------
-- A session name without its run ids: 'agent-run-7f3a9c12' -> 'agent-run', 'worker7' ->
-- 'worker', 'botocore-session-1700000000' -> 'botocore-session'. Strips, from the end,
-- separator-led tokens containing a digit and bare digit runs; a name that is nothing but
-- an id (an ECS task id, a UUID, digits) becomes '(id)'.
CREATE OR REPLACE MACRO session_family(name) AS
    CASE WHEN name IS NULL THEN NULL
         WHEN regexp_full_match(lower(name), '[0-9a-f-]{8,}') AND regexp_matches(name, '[0-9]') THEN '(id)'
         ELSE coalesce(
             nullif(regexp_replace(lower(name), '(([-_.:@/][a-z0-9]*[0-9][a-z0-9]*)|[0-9]+)+$', ''), ''),
             '(id)') END;
-- The product of a user agent without versions: 'Boto3/1.34.0 md/...' -> 'boto3',
-- '[aws-cli/2.15.0 ...]' -> 'aws-cli', 'AWS Internal' -> 'aws internal'.
CREATE OR REPLACE MACRO user_agent_family(ua) AS
    nullif(lower(trim(regexp_extract(ua, '^\[?([^/\[\],(]+)', 1))), '');
-- 'critical' < 'high' < ... for sorting, most severe first.
CREATE OR REPLACE MACRO severity_rank(sev) AS
    CASE sev WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 WHEN 'low' THEN 3 ELSE 4 END;
-- One step less severe: conditional grants may be narrower than they look.
CREATE OR REPLACE MACRO severity_lower(sev) AS
    CASE sev WHEN 'critical' THEN 'high' WHEN 'high' THEN 'medium' WHEN 'medium' THEN 'low' ELSE 'info' END;
-- Does a resource pattern name every resource of its type: '*', or an ARN whose
-- resource part is its type and '*' ('arn:aws:iam::123456789012:role/*',
-- 'arn:aws:lambda:*:*:function:*'); 'role/app-*' and 'secret:prod/*' do not.
CREATE OR REPLACE MACRO resource_is_any(pattern) AS
    pattern = '*' OR regexp_full_match(pattern, 'arn:[^:]*:[^:]*:[^:]*:[^:]*:[A-Za-z-]+[:/]\*');
-- A timestamp as ISO 8601 text (UTC, no offset), for evidence JSON.
CREATE OR REPLACE MACRO iso_ts(t) AS strftime(CAST(t AS TIMESTAMP), '%Y-%m-%dT%H:%M:%S');
-- An IAM resource pattern as a LIKE pattern (escape '\'): '*' any run, '?' one character,
-- policy variables any run. LIKE with a per-row pattern needs no regex compilation, so
-- matching millions of (call, grant) pairs stays cheap; same semantics as the grants
-- stage's iam_resource_match (tests check both agree).
CREATE OR REPLACE MACRO resource_like(pattern) AS
    replace(replace(replace(replace(replace(
        regexp_replace(pattern, '\$\{[^}]*\}', chr(1), 'g'),
        '\', '\\'), '%', '\%'), '_', '\_'), '*', '%'), '?', '_').replace(chr(1), '%');
