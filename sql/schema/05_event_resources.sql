-- The resources one CloudTrail call touched, computed set-wise at ingest so that
-- usage_daily keeps one row per (call, resource) with the role the resource plays.
-- Macro event_touched_resources(event_source, event_name, resources, request_parameters,
-- account_id, region) -> LIST(STRUCT(arn VARCHAR, kind VARCHAR)); no $parameters.
--
-- Sources: CloudTrail's own resources[] (kind = its type, e.g. AWS::S3::Object) plus ARNs
-- built from request parameters for the services agents use most, in the shape of the
-- catalog's ARN templates (catalog_resource_types.arn_template). Kinds that are not a
-- CloudFormation-style type say what the resource is *to the call*, so mapping rules can
-- pick it (event_action_rules.resource_kind, documented in recommender/data/resource_kinds.csv):
--   copy_source          S3 CopyObject/UploadPartCopy source object (needs s3:GetObject)
--   passed_role          a role ARN handed to a service (needs iam:PassRole)
--   passed_role_profile  an instance profile handed to EC2 (iam:PassRole on its role; the
--                        role name cannot be resolved offline, so the profile ARN is kept)
--   secret_name          a Secrets Manager secret named without its random suffix: the ARN
--                        ends in "-*" and is a pattern, not an exact ARN
--   role_name, user_name an IAM role/user named without its path: ARN assumes path "/"
--   object_version       an S3 object addressed with versionId (s3:*ObjectVersion actions)
--   kms_source_key, kms_destination_key   the two keys of kms:ReEncrypt
--   dynamodb_put/_update/_delete/_condition_check  tables of a TransactWriteItems by operation
--   partiql_select/_insert/_update/_delete          tables of a PartiQL statement by verb
--   tag_on_create        marker (arn NULL): EC2 create call with tagSpecificationSet
-- Every value here comes from the request and is attacker-controlled: it is only ever
-- concatenated into ARN strings, never into SQL.

CREATE OR REPLACE MACRO er_partition(region) AS CASE
    WHEN region LIKE 'cn-%' THEN 'aws-cn'
    WHEN region LIKE 'us-gov-%' THEN 'aws-us-gov'
    WHEN region LIKE 'us-isob-%' THEN 'aws-iso-b'
    WHEN region LIKE 'us-iso-%' THEN 'aws-iso'
    ELSE 'aws' END;

-- A request string parameter, NULL when absent or empty.
CREATE OR REPLACE MACRO er_str(rp, path) AS nullif(json_extract_string(rp, path), '');

-- Every string in a JSON value that may be one string or an array of strings (a field of
-- er_params, or what er_strs extracts).
CREATE OR REPLACE MACRO er_strs_of(j) AS CASE json_type(j)
    WHEN 'ARRAY' THEN coalesce(json_extract_string(j, '$[*]'), []::VARCHAR[])
    WHEN 'VARCHAR' THEN [json_extract_string(j, '$')]
    ELSE []::VARCHAR[] END;

-- Every string at a path that may hold one string or an array of strings.
CREATE OR REPLACE MACRO er_strs(rp, path) AS er_strs_of(json_extract(rp, path));

-- A JSON value already extracted, as er_str gives it: the string itself, or the JSON text
-- of anything else; NULL when absent or empty.
CREATE OR REPLACE MACRO er_s(j) AS nullif(json_extract_string(j, '$'), '');

-- The request parameters the derivations below read, parsed once per event into a struct
-- (json_transform; each er_str call would parse the whole request again, and the S3
-- branch alone needs eight). Missing keys are NULL; a VARCHAR field holding an object or
-- array keeps its JSON text, as json_extract_string does. Fields that may be a string or
-- an array, or an object, are JSON. Struct fields are case-insensitive, so the rare
-- capitalised spellings (TableName, SecretId) are read from the raw request where needed.
CREATE OR REPLACE MACRO er_params_spec() AS '{
  "bucketName": "VARCHAR", "key": "VARCHAR", "versionId": "VARCHAR", "x-amz-copy-source": "VARCHAR",
  "functionName": "VARCHAR", "qualifier": "VARCHAR",
  "tableName": "VARCHAR", "requestItems": "JSON", "statement": "JSON", "transactStatements": "JSON",
  "queueUrl": "VARCHAR", "queueName": "VARCHAR", "topicArn": "VARCHAR", "name": "JSON", "names": "JSON",
  "secretId": "JSON", "secretIdList": "JSON",
  "keyId": "VARCHAR", "targetKeyId": "VARCHAR", "aliasName": "VARCHAR", "sourceKeyId": "VARCHAR",
  "destinationKeyId": "VARCHAR",
  "modelId": "VARCHAR", "agentId": "VARCHAR", "agentAliasId": "VARCHAR", "knowledgeBaseId": "VARCHAR",
  "roleName": "VARCHAR", "path": "VARCHAR", "userName": "VARCHAR", "policyArn": "VARCHAR",
  "instanceProfileName": "VARCHAR", "roleArn": "VARCHAR", "logGroupName": "VARCHAR",
  "tagSpecificationSet": "JSON", "filters": "JSON"
}';

CREATE OR REPLACE MACRO er_params(rp) AS json_transform(rp, er_params_spec());

-- The operation name without the API version suffix Lambda and CloudFront append
-- (UpdateFunctionConfiguration20150331v2, CreateDistribution2020_05_31).
CREATE OR REPLACE MACRO er_operation(event_name) AS
    regexp_replace(trim(event_name), '[0-9]{4}_?[0-9]{2}_?[0-9]{2}(v[0-9]+)?$', '');

CREATE OR REPLACE MACRO er_item(arn, kind) AS {'arn': arn::VARCHAR, 'kind': kind::VARCHAR};

-- A role given by ARN or (Glue, CodeBuild, Batch) by name; a name assumes path "/".
CREATE OR REPLACE MACRO er_role_arn(v, p, acct) AS CASE
    WHEN v IS NULL THEN NULL
    WHEN v LIKE 'arn:%' THEN v
    ELSE 'arn:' || p || ':iam::' || acct || ':role/' || v END;

CREATE OR REPLACE MACRO er_profile_arn(v, p, acct) AS CASE
    WHEN v IS NULL THEN NULL
    WHEN v LIKE 'arn:%' THEN v
    ELSE 'arn:' || p || ':iam::' || acct || ':instance-profile/' || v END;

CREATE OR REPLACE MACRO er_kms_arn(k, p, region, acct) AS CASE
    WHEN k IS NULL THEN NULL
    WHEN k LIKE 'arn:%' THEN k
    WHEN k LIKE 'alias/%' THEN 'arn:' || p || ':kms:' || region || ':' || acct || ':' || k
    ELSE 'arn:' || p || ':kms:' || region || ':' || acct || ':key/' || k END;

CREATE OR REPLACE MACRO er_kms_kind(arn) AS CASE
    WHEN arn IS NULL THEN NULL
    WHEN arn LIKE '%:alias/%' THEN 'AWS::KMS::Alias'
    ELSE 'AWS::KMS::Key' END;

CREATE OR REPLACE MACRO er_table_arn(t, p, region, acct) AS CASE
    WHEN t IS NULL THEN NULL
    WHEN t LIKE 'arn:%' THEN t
    ELSE 'arn:' || p || ':dynamodb:' || region || ':' || acct || ':table/' || t END;

CREATE OR REPLACE MACRO er_secret(s, p, region, acct) AS CASE
    WHEN s IS NULL THEN NULL
    WHEN s LIKE 'arn:%' THEN er_item(s, 'AWS::SecretsManager::Secret')
    ELSE er_item('arn:' || p || ':secretsmanager:' || region || ':' || acct || ':secret:' || s || '-*',
                 'secret_name') END;

-- Lambda functionName: a name (optionally name:qualifier), a partial ARN
-- (123456789012:function:name) or a full ARN; a separate Qualifier is appended.
CREATE OR REPLACE MACRO er_function_arn(fn, q, p, region, acct) AS CASE
    WHEN fn IS NULL THEN NULL
    ELSE (CASE
            WHEN fn LIKE 'arn:%' THEN fn
            WHEN regexp_matches(fn, '^[^:]+:function:') THEN 'arn:' || p || ':lambda:' || region || ':' || fn
            ELSE 'arn:' || p || ':lambda:' || region || ':' || acct || ':function:' || fn END)
         || (CASE WHEN q IS NOT NULL AND NOT regexp_matches(fn, '(^|:function:)[^:]+:[^:]+$')
                  THEN ':' || q ELSE '' END) END;

-- A system-defined cross-region inference profile id: a geography prefix and a dot
-- (us.anthropic.claude-...). String functions, not a regular expression: this runs for
-- every Bedrock call.
CREATE OR REPLACE MACRO er_is_profile_id(m) AS
    contains(m, '.') AND split_part(m, '.', 1) IN ('us', 'eu', 'apac', 'us-gov', 'global', 'jp', 'au', 'ca');

-- Bedrock modelId: an ARN, a cross-region inference profile id (us.anthropic...), or a
-- foundation model id (anthropic.claude-3...), whose ARN has no account.
CREATE OR REPLACE MACRO er_model_arn(m, p, region, acct) AS CASE
    WHEN m IS NULL THEN NULL
    WHEN m LIKE 'arn:%' THEN m
    WHEN er_is_profile_id(m)
        THEN 'arn:' || p || ':bedrock:' || region || ':' || acct || ':inference-profile/' || m
    ELSE 'arn:' || p || ':bedrock:' || region || '::foundation-model/' || m END;

-- A system-defined cross-region inference profile (us.anthropic.claude-...) routes each
-- call to the foundation model in one of several regions, and IAM checks
-- bedrock:InvokeModel on the profile AND on the foundation model in the region served
-- (https://docs.aws.amazon.com/bedrock/latest/userguide/inference-profiles-prereq.html).
-- A policy scoped to the profile alone would break the call, so the model is a touched
-- resource too, in any region. Application inference profiles name no model: left alone.
CREATE OR REPLACE MACRO er_profile_model_arn(arn, p) AS CASE
    WHEN arn IS NULL THEN NULL
    WHEN er_is_profile_id(split_part(arn, ':inference-profile/', 2))
        THEN 'arn:' || p || ':bedrock:*::foundation-model/'
             || split_part(arn, ':inference-profile/', 2)[strpos(split_part(arn, ':inference-profile/', 2), '.') + 1:]
    END;

CREATE OR REPLACE MACRO er_model_kind(arn) AS CASE
    WHEN arn IS NULL THEN NULL
    WHEN arn LIKE '%:foundation-model/%' THEN 'AWS::Bedrock::FoundationModel'
    WHEN contains(arn, ':inference-profile/') OR contains(arn, ':application-inference-profile/')
        THEN 'AWS::Bedrock::InferenceProfile'
    WHEN arn LIKE '%:provisioned-model/%' THEN 'AWS::Bedrock::ProvisionedModel'
    ELSE 'AWS::Bedrock::Model' END;

-- SQS queue URL https://sqs.<region>.amazonaws.com/<account>/<name> (also the legacy
-- https://<region>.queue.amazonaws.com and https://queue.amazonaws.com forms).
CREATE OR REPLACE MACRO er_queue_arn(u, p, region) AS CASE
    WHEN u IS NULL OR NOT regexp_matches(u, '^https?://[^/]+/[^/]+/[^/?#]+') THEN NULL
    ELSE 'arn:' || p || ':sqs:'
        || coalesce(nullif(regexp_extract(u, '^https?://sqs\.([a-z0-9-]+)\.', 1), ''),
                    nullif(regexp_extract(u, '^https?://([a-z0-9-]+)\.queue\.', 1), ''),
                    region)
        || ':' || regexp_extract(u, '^https?://[^/]+/([^/]+)/', 1)
        || ':' || regexp_extract(u, '^https?://[^/]+/[^/]+/([^/?#]+)', 1) END;

-- S3 x-amz-copy-source: "bucket/key", "/bucket/key", URL-encoded, maybe "?versionId=...",
-- or an access point ARN.
CREATE OR REPLACE MACRO er_copy_source_arn(cs, p) AS CASE
    WHEN cs IS NULL THEN NULL
    WHEN url_decode(cs) LIKE 'arn:%' THEN regexp_replace(url_decode(cs), '\?versionId=.*$', '')
    ELSE 'arn:' || p || ':s3:::'
        || regexp_replace(regexp_replace(url_decode(cs), '^/+', ''), '\?versionId=.*$', '') END;

-- Calls that hand a role to a service, and where the request names it. The passed role
-- needs iam:PassRole (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html).
CREATE OR REPLACE MACRO er_passed_role_params() AS [
    {'s': 'lambda.amazonaws.com', 'n': 'CreateFunction', 'p': '$.role', 'k': 'passed_role'},
    {'s': 'lambda.amazonaws.com', 'n': 'UpdateFunctionConfiguration', 'p': '$.role', 'k': 'passed_role'},
    {'s': 'ec2.amazonaws.com', 'n': 'RunInstances', 'p': '$.iamInstanceProfile', 'k': 'passed_role_profile'},
    {'s': 'ec2.amazonaws.com', 'n': 'AssociateIamInstanceProfile', 'p': '$.iamInstanceProfile', 'k': 'passed_role_profile'},
    {'s': 'ec2.amazonaws.com', 'n': 'ReplaceIamInstanceProfileAssociation', 'p': '$.iamInstanceProfile', 'k': 'passed_role_profile'},
    {'s': 'ec2.amazonaws.com', 'n': 'RequestSpotInstances', 'p': '$.launchSpecification.iamInstanceProfile', 'k': 'passed_role_profile'},
    {'s': 'autoscaling.amazonaws.com', 'n': 'CreateLaunchConfiguration', 'p': '$.iamInstanceProfile', 'k': 'passed_role_profile'},
    {'s': 'cloudformation.amazonaws.com', 'n': 'CreateStack', 'p': '$.roleARN', 'k': 'passed_role'},
    {'s': 'cloudformation.amazonaws.com', 'n': 'UpdateStack', 'p': '$.roleARN', 'k': 'passed_role'},
    {'s': 'cloudformation.amazonaws.com', 'n': 'CreateChangeSet', 'p': '$.roleARN', 'k': 'passed_role'},
    {'s': 'cloudformation.amazonaws.com', 'n': 'CreateStackSet', 'p': '$.administrationRoleARN', 'k': 'passed_role'},
    {'s': 'ecs.amazonaws.com', 'n': 'RegisterTaskDefinition', 'p': '$.taskRoleArn', 'k': 'passed_role'},
    {'s': 'ecs.amazonaws.com', 'n': 'RegisterTaskDefinition', 'p': '$.executionRoleArn', 'k': 'passed_role'},
    {'s': 'glue.amazonaws.com', 'n': 'CreateJob', 'p': '$.role', 'k': 'passed_role'},
    {'s': 'glue.amazonaws.com', 'n': 'UpdateJob', 'p': '$.jobUpdate.role', 'k': 'passed_role'},
    {'s': 'glue.amazonaws.com', 'n': 'CreateCrawler', 'p': '$.role', 'k': 'passed_role'},
    {'s': 'glue.amazonaws.com', 'n': 'UpdateCrawler', 'p': '$.role', 'k': 'passed_role'},
    {'s': 'glue.amazonaws.com', 'n': 'CreateDevEndpoint', 'p': '$.roleArn', 'k': 'passed_role'},
    {'s': 'glue.amazonaws.com', 'n': 'CreateSession', 'p': '$.role', 'k': 'passed_role'},
    {'s': 'sagemaker.amazonaws.com', 'n': 'CreateNotebookInstance', 'p': '$.roleArn', 'k': 'passed_role'},
    {'s': 'sagemaker.amazonaws.com', 'n': 'CreateTrainingJob', 'p': '$.roleArn', 'k': 'passed_role'},
    {'s': 'sagemaker.amazonaws.com', 'n': 'CreateProcessingJob', 'p': '$.roleArn', 'k': 'passed_role'},
    {'s': 'sagemaker.amazonaws.com', 'n': 'CreateModel', 'p': '$.executionRoleArn', 'k': 'passed_role'},
    {'s': 'states.amazonaws.com', 'n': 'CreateStateMachine', 'p': '$.roleArn', 'k': 'passed_role'},
    {'s': 'states.amazonaws.com', 'n': 'UpdateStateMachine', 'p': '$.roleArn', 'k': 'passed_role'},
    {'s': 'bedrock.amazonaws.com', 'n': 'CreateAgent', 'p': '$.agentResourceRoleArn', 'k': 'passed_role'},
    {'s': 'bedrock.amazonaws.com', 'n': 'UpdateAgent', 'p': '$.agentResourceRoleArn', 'k': 'passed_role'},
    {'s': 'bedrock.amazonaws.com', 'n': 'CreateKnowledgeBase', 'p': '$.roleArn', 'k': 'passed_role'},
    {'s': 'bedrock.amazonaws.com', 'n': 'UpdateKnowledgeBase', 'p': '$.roleArn', 'k': 'passed_role'},
    {'s': 'bedrock.amazonaws.com', 'n': 'CreateModelCustomizationJob', 'p': '$.roleArn', 'k': 'passed_role'},
    {'s': 'bedrock.amazonaws.com', 'n': 'CreateModelInvocationJob', 'p': '$.roleArn', 'k': 'passed_role'},
    {'s': 'codebuild.amazonaws.com', 'n': 'CreateProject', 'p': '$.serviceRole', 'k': 'passed_role'},
    {'s': 'codebuild.amazonaws.com', 'n': 'UpdateProject', 'p': '$.serviceRole', 'k': 'passed_role'},
    {'s': 'batch.amazonaws.com', 'n': 'CreateComputeEnvironment', 'p': '$.serviceRole', 'k': 'passed_role'},
    {'s': 'events.amazonaws.com', 'n': 'PutRule', 'p': '$.roleArn', 'k': 'passed_role'},
    {'s': 'rds.amazonaws.com', 'n': 'AddRoleToDBCluster', 'p': '$.roleArn', 'k': 'passed_role'},
    {'s': 'rds.amazonaws.com', 'n': 'AddRoleToDBInstance', 'p': '$.roleArn', 'k': 'passed_role'},
    {'s': 'cloudtrail.amazonaws.com', 'n': 'CreateTrail', 'p': '$.cloudWatchLogsRoleArn', 'k': 'passed_role'},
    {'s': 'cloudtrail.amazonaws.com', 'n': 'UpdateTrail', 'p': '$.cloudWatchLogsRoleArn', 'k': 'passed_role'},
    {'s': 'config.amazonaws.com', 'n': 'PutConfigurationRecorder', 'p': '$.configurationRecorder.roleARN', 'k': 'passed_role'},
    {'s': 'ssm.amazonaws.com', 'n': 'SendCommand', 'p': '$.serviceRoleArn', 'k': 'passed_role'},
    {'s': 'rolesanywhere.amazonaws.com', 'n': 'CreateProfile', 'p': '$.roleArns', 'k': 'passed_role'},
    {'s': 'rolesanywhere.amazonaws.com', 'n': 'UpdateProfile', 'p': '$.roleArns', 'k': 'passed_role'},
    {'s': 'elasticmapreduce.amazonaws.com', 'n': 'RunJobFlow', 'p': '$.serviceRole', 'k': 'passed_role'},
    {'s': 'elasticmapreduce.amazonaws.com', 'n': 'RunJobFlow', 'p': '$.jobFlowRole', 'k': 'passed_role_profile'},
    {'s': 'logs.amazonaws.com', 'n': 'PutSubscriptionFilter', 'p': '$.roleArn', 'k': 'passed_role'},
    {'s': 'logs.amazonaws.com', 'n': 'PutDestination', 'p': '$.roleArn', 'k': 'passed_role'},
    {'s': 'codepipeline.amazonaws.com', 'n': 'CreatePipeline', 'p': '$.pipeline.roleArn', 'k': 'passed_role'},
    {'s': 'codepipeline.amazonaws.com', 'n': 'UpdatePipeline', 'p': '$.pipeline.roleArn', 'k': 'passed_role'},
    {'s': 'scheduler.amazonaws.com', 'n': 'CreateSchedule', 'p': '$.target.roleArn', 'k': 'passed_role'},
    {'s': 'scheduler.amazonaws.com', 'n': 'UpdateSchedule', 'p': '$.target.roleArn', 'k': 'passed_role'}
];

-- The services whose requests the derivations read (er_from_params, er_partiql): a call
-- from any other service derives nothing from its request, so usage_daily_rows groups
-- those calls without it (fewer groups, and no request to parse per group).
-- tests/test_mapping_resources.py checks that every source named in this file is here.
CREATE OR REPLACE MACRO er_request_sources() AS list_distinct(flatten([[
    's3.amazonaws.com', 'lambda.amazonaws.com', 'dynamodb.amazonaws.com', 'sqs.amazonaws.com',
    'sns.amazonaws.com', 'secretsmanager.amazonaws.com', 'kms.amazonaws.com',
    'bedrock.amazonaws.com', 'iam.amazonaws.com', 'sts.amazonaws.com', 'ssm.amazonaws.com',
    'logs.amazonaws.com', 'ec2.amazonaws.com'], [x.s FOR x IN er_passed_role_params()]]));

CREATE OR REPLACE MACRO er_reads_request(event_source) AS list_contains(er_request_sources(), event_source);

-- What usage_daily_rows groups calls by in place of their request: NULL for a service
-- whose request the derivation does not read; for DynamoDB and KMS, only the fields the
-- derivation reads (er_from_params and er_partiql read these two services' requests
-- through nothing else), so the item keys and encryption contexts that make nearly every
-- GetItem or Decrypt call's request unique no longer split one table's or key's calls
-- into a group each; for every other service, the request itself. Exact: the derivation
-- gives the same resources from this as from the request (the same values come out of
-- er_params, and DynamoDB's case-sensitive TableName fallback is folded into tableName);
-- tests/test_mapping_resources.py checks usage_daily_rows against the per-call macro.
CREATE OR REPLACE MACRO er_request_key(event_source, rp) AS CASE
    WHEN NOT coalesce(er_reads_request(event_source), false) OR rp IS NULL THEN NULL
    WHEN event_source = 'dynamodb.amazonaws.com' THEN [
        CASE WHEN coalesce(nullif(x.q.tableName, ''), x.t) IS NOT NULL
                  OR coalesce(x.q.requestItems, x.q.statement, x.q.transactStatements) IS NOT NULL
             THEN json_object('tableName', coalesce(nullif(x.q.tableName, ''), x.t), 'requestItems', x.q.requestItems,
                              'statement', x.q.statement, 'transactStatements', x.q.transactStatements) END
        FOR x IN [{'q': json_transform(rp, er_ddb_spec()), 't': er_str(rp, '$.TableName')}]][1]
    WHEN event_source = 'kms.amazonaws.com' THEN [
        CASE WHEN coalesce(q.keyId, q.targetKeyId, q.aliasName, q.sourceKeyId, q.destinationKeyId) IS NOT NULL
             THEN json_object('keyId', q.keyId, 'targetKeyId', q.targetKeyId, 'aliasName', q.aliasName,
                              'sourceKeyId', q.sourceKeyId, 'destinationKeyId', q.destinationKeyId) END
        FOR q IN [json_transform(rp, er_kms_spec())]][1]
    ELSE rp END;

CREATE OR REPLACE MACRO er_ddb_spec() AS
    '{"tableName": "VARCHAR", "requestItems": "JSON", "statement": "JSON", "transactStatements": "JSON"}';
CREATE OR REPLACE MACRO er_kms_spec() AS
    '{"keyId": "VARCHAR", "targetKeyId": "VARCHAR", "aliasName": "VARCHAR", "sourceKeyId": "VARCHAR",
      "destinationKeyId": "VARCHAR"}';

-- The four S3 request fields the derivation reads. A call with neither versionId nor
-- x-amz-copy-source derives only its bucket and object, which usage_from_calls builds
-- directly (most S3 calls; the general derivation costs several times more per call).
CREATE OR REPLACE MACRO er_s3_spec() AS
    '{"bucketName": "VARCHAR", "key": "VARCHAR", "versionId": "VARCHAR", "x-amz-copy-source": "VARCHAR"}';

-- Request conditions that need an action but name no resource (er_from_params, at its
-- end): EC2 create calls with tagSpecificationSet need ec2:CreateTags (marker
-- tag_on_create); BatchGetSecretValue with filters needs secretsmanager:ListSecrets
-- (marker list_filter).

-- Instance profile parameter: {"arn": ...}, {"name": ...} or a plain string.
CREATE OR REPLACE MACRO er_profile_value(rp, path) AS CASE json_type(json_extract(rp, path))
    WHEN 'OBJECT' THEN coalesce(er_str(json_extract(rp, path), '$.arn'), er_str(json_extract(rp, path), '$.name'))
    ELSE er_str(rp, path) END;

-- The operation names of er_passed_role_params(), so most calls skip the scan.
CREATE OR REPLACE MACRO er_passed_role_ops() AS list_distinct([x.n FOR x IN er_passed_role_params()]);

CREATE OR REPLACE MACRO er_passed_roles(src, op, rp, p, acct) AS CASE
    WHEN list_contains(er_passed_role_ops(), op) THEN flatten([
        CASE WHEN x.k = 'passed_role_profile'
             THEN [er_item(er_profile_arn(er_profile_value(rp, x.p), p, acct), x.k)]
             ELSE [er_item(er_role_arn(nullif(v, ''), p, acct), x.k) FOR v IN er_strs(rp, x.p)] END
        FOR x IN er_passed_role_params() IF x.s = src AND x.n = op])
    ELSE [] END;

-- Items of a DynamoDB requestItems list ([{operation, tableName|TableName, ...}]) or map
-- ({tableName: [...]}) as (table, operation); ri is the requestItems JSON value.
CREATE OR REPLACE MACRO er_ddb_items(ri) AS CASE json_type(ri)
    WHEN 'ARRAY' THEN [
        {'t': coalesce(er_str(i, '$.tableName'), er_str(i, '$.TableName')), 'op': er_str(i, '$.operation')}
        FOR i IN coalesce(json_extract(ri, '$[*]'), []::JSON[])]
    WHEN 'OBJECT' THEN [{'t': k, 'op': NULL::VARCHAR} FOR k IN coalesce(json_keys(ri), []::VARCHAR[])]
    ELSE [] END;

CREATE OR REPLACE MACRO er_partiql_kind(stmt) AS CASE upper(regexp_extract(coalesce(stmt, ''), '^\s*([A-Za-z]+)', 1))
    WHEN 'SELECT' THEN 'partiql_select' WHEN 'INSERT' THEN 'partiql_insert'
    WHEN 'UPDATE' THEN 'partiql_update' WHEN 'DELETE' THEN 'partiql_delete' ELSE NULL END;

-- PartiQL (ExecuteStatement, BatchExecuteStatement, ExecuteTransaction): the action depends
-- on each statement's verb; the table comes from resources[] (statements are not parsed).
-- q: the er_params struct of the request.
CREATE OR REPLACE MACRO er_partiql(src, q, resources) AS CASE WHEN src = 'dynamodb.amazonaws.com'
    AND (q.statement IS NOT NULL OR q.requestItems IS NOT NULL OR q.transactStatements IS NOT NULL) THEN flatten([
    [er_item(t, k) FOR t IN coalesce(nullif([r.arn FOR r IN coalesce(resources, []) IF r.type = 'AWS::DynamoDB::Table'], []), [NULL::VARCHAR])]
    FOR k IN [er_partiql_kind(s) FOR s IN flatten([er_strs_of(q.statement),
                                                    coalesce(json_extract_string(q.requestItems, '$[*].statement'), []::VARCHAR[]),
                                                    coalesce(json_extract_string(q.transactStatements, '$[*].statement'), []::VARCHAR[])])]
    IF k IS NOT NULL]) ELSE [] END;

CREATE OR REPLACE MACRO er_from_params(src, op, rp, q, acct, region, p) AS flatten([
    -- S3: bucket, object, copy source, versioned object
    CASE WHEN src = 's3.amazonaws.com' THEN [
        er_item('arn:' || p || ':s3:::' || nullif(q.bucketName, ''),
                CASE WHEN nullif(q.bucketName, '') IS NOT NULL THEN 'AWS::S3::Bucket' END),
        er_item('arn:' || p || ':s3:::' || nullif(q.bucketName, '') || '/' || nullif(q."key", ''),
                CASE WHEN nullif(q.bucketName, '') IS NOT NULL AND nullif(q."key", '') IS NOT NULL THEN 'AWS::S3::Object' END),
        er_item('arn:' || p || ':s3:::' || nullif(q.bucketName, '') || '/' || nullif(q."key", ''),
                CASE WHEN nullif(q.bucketName, '') IS NOT NULL AND nullif(q."key", '') IS NOT NULL
                          AND nullif(q.versionId, '') IS NOT NULL THEN 'object_version' END),
        er_item(er_copy_source_arn(nullif(q."x-amz-copy-source", ''), p),
                CASE WHEN nullif(q."x-amz-copy-source", '') IS NOT NULL THEN 'copy_source' END)
    ] ELSE [] END,
    -- Lambda function
    CASE WHEN src = 'lambda.amazonaws.com' THEN [
        er_item(er_function_arn(nullif(q.functionName, ''), nullif(q.qualifier, ''), p, region, acct),
                CASE WHEN nullif(q.functionName, '') IS NOT NULL THEN 'AWS::Lambda::Function' END)
    ] ELSE [] END,
    -- DynamoDB tables, and per-operation kinds for transactions and PartiQL
    CASE WHEN src = 'dynamodb.amazonaws.com' THEN flatten([
        [er_item(er_table_arn(coalesce(nullif(q.tableName, ''), er_str(rp, '$.TableName')), p, region, acct),
                 CASE WHEN coalesce(nullif(q.tableName, ''), er_str(rp, '$.TableName')) IS NOT NULL THEN 'AWS::DynamoDB::Table' END)],
        [er_item(er_table_arn(i.t, p, region, acct),
                 CASE WHEN op = 'TransactWriteItems' THEN CASE lower(i.op)
                          WHEN 'put' THEN 'dynamodb_put' WHEN 'update' THEN 'dynamodb_update'
                          WHEN 'delete' THEN 'dynamodb_delete' WHEN 'conditioncheck' THEN 'dynamodb_condition_check' END
                      WHEN i.t IS NOT NULL THEN 'AWS::DynamoDB::Table' END)
         FOR i IN CASE WHEN q.requestItems IS NOT NULL THEN er_ddb_items(q.requestItems) ELSE [] END]
    ]) ELSE [] END,
    -- SQS queue
    CASE WHEN src = 'sqs.amazonaws.com' THEN [
        er_item(coalesce(er_queue_arn(nullif(q.queueUrl, ''), p, region),
                         'arn:' || p || ':sqs:' || region || ':' || acct || ':' || nullif(q.queueName, '')),
                CASE WHEN er_queue_arn(nullif(q.queueUrl, ''), p, region) IS NOT NULL
                          OR nullif(q.queueName, '') IS NOT NULL THEN 'AWS::SQS::Queue' END)
    ] ELSE [] END,
    -- SNS topic
    CASE WHEN src = 'sns.amazonaws.com' THEN [
        er_item(coalesce(nullif(q.topicArn, ''),
                         CASE WHEN op = 'CreateTopic' THEN 'arn:' || p || ':sns:' || region || ':' || acct || ':' || er_s(q.name) END),
                CASE WHEN nullif(q.topicArn, '') IS NOT NULL
                          OR (op = 'CreateTopic' AND er_s(q.name) IS NOT NULL) THEN 'AWS::SNS::Topic' END)
    ] ELSE [] END,
    -- Secrets Manager: by ARN, or by name (a pattern, kind secret_name)
    CASE WHEN src = 'secretsmanager.amazonaws.com' THEN [
        er_secret(s, p, region, acct)
        FOR s IN flatten([er_strs_of(q.secretId), er_strs(rp, '$.SecretId'), er_strs_of(q.secretIdList),
                          CASE WHEN op = 'CreateSecret' THEN er_strs_of(q.name) ELSE []::VARCHAR[] END])
        IF nullif(s, '') IS NOT NULL
    ] ELSE [] END,
    -- KMS keys and aliases; ReEncrypt's two keys get their own kinds
    CASE WHEN src = 'kms.amazonaws.com' THEN [
        er_item(er_kms_arn(nullif(q.keyId, ''), p, region, acct), er_kms_kind(er_kms_arn(nullif(q.keyId, ''), p, region, acct))),
        er_item(er_kms_arn(nullif(q.targetKeyId, ''), p, region, acct), er_kms_kind(er_kms_arn(nullif(q.targetKeyId, ''), p, region, acct))),
        er_item('arn:' || p || ':kms:' || region || ':' || acct || ':' || nullif(q.aliasName, ''),
                CASE WHEN nullif(q.aliasName, '') LIKE 'alias/%' THEN 'AWS::KMS::Alias' END),
        er_item(er_kms_arn(nullif(q.sourceKeyId, ''), p, region, acct),
                CASE WHEN nullif(q.sourceKeyId, '') IS NOT NULL THEN 'kms_source_key' END),
        er_item(er_kms_arn(nullif(q.destinationKeyId, ''), p, region, acct),
                CASE WHEN nullif(q.destinationKeyId, '') IS NOT NULL THEN 'kms_destination_key' END)
    ] ELSE [] END,
    -- Bedrock: model, agent (and alias), knowledge base
    -- (The model ARN is bound once through a lambda that captures nothing: copied into
    -- each use, with er_profile_model_arn's own copies, it made planning this macro take
    -- ~0.25 s more, on every batch.)
    CASE WHEN src = 'bedrock.amazonaws.com' THEN flatten([[[
        er_item(m.arn, er_model_kind(m.arn)),
        er_item(er_profile_model_arn(m.arn, m.p), 'AWS::Bedrock::FoundationModel')]
        FOR m IN [{'arn': er_model_arn(nullif(q.modelId, ''), p, region, acct), 'p': p}]][1], [
        er_item('arn:' || p || ':bedrock:' || region || ':' || acct || ':agent/' || nullif(q.agentId, ''),
                CASE WHEN nullif(q.agentId, '') IS NOT NULL THEN 'AWS::Bedrock::Agent' END),
        er_item('arn:' || p || ':bedrock:' || region || ':' || acct || ':agent-alias/' || nullif(q.agentId, '')
                    || '/' || nullif(q.agentAliasId, ''),
                CASE WHEN nullif(q.agentId, '') IS NOT NULL AND nullif(q.agentAliasId, '') IS NOT NULL
                     THEN 'AWS::Bedrock::AgentAlias' END),
        er_item('arn:' || p || ':bedrock:' || region || ':' || acct || ':knowledge-base/' || nullif(q.knowledgeBaseId, ''),
                CASE WHEN nullif(q.knowledgeBaseId, '') IS NOT NULL THEN 'AWS::Bedrock::KnowledgeBase' END)
    ]]) ELSE [] END,
    -- IAM: role (path only known on CreateRole), user, policy, instance profile
    CASE WHEN src = 'iam.amazonaws.com' THEN [
        er_item('arn:' || p || ':iam::' || acct || ':role'
                    || CASE WHEN op = 'CreateRole' THEN coalesce(nullif(q.path, ''), '/') ELSE '/' END
                    || nullif(q.roleName, ''),
                CASE WHEN nullif(q.roleName, '') IS NULL THEN NULL
                     WHEN op = 'CreateRole' THEN 'AWS::IAM::Role' ELSE 'role_name' END),
        er_item('arn:' || p || ':iam::' || acct || ':user'
                    || CASE WHEN op = 'CreateUser' THEN coalesce(nullif(q.path, ''), '/') ELSE '/' END
                    || nullif(q.userName, ''),
                CASE WHEN nullif(q.userName, '') IS NULL THEN NULL
                     WHEN op = 'CreateUser' THEN 'AWS::IAM::User' ELSE 'user_name' END),
        er_item(nullif(q.policyArn, ''), CASE WHEN nullif(q.policyArn, '') IS NOT NULL THEN 'AWS::IAM::Policy' END),
        er_item('arn:' || p || ':iam::' || acct || ':instance-profile/' || nullif(q.instanceProfileName, ''),
                CASE WHEN nullif(q.instanceProfileName, '') IS NOT NULL THEN 'AWS::IAM::InstanceProfile' END)
    ] ELSE [] END,
    -- STS: the role being assumed
    CASE WHEN src = 'sts.amazonaws.com' THEN [
        er_item(nullif(q.roleArn, ''), CASE WHEN nullif(q.roleArn, '') IS NOT NULL THEN 'AWS::IAM::Role' END)
    ] ELSE [] END,
    -- SSM parameters
    CASE WHEN src = 'ssm.amazonaws.com' AND op LIKE '%Parameter%' THEN [
        er_item(CASE WHEN n LIKE 'arn:%' THEN n
                     ELSE 'arn:' || p || ':ssm:' || region || ':' || acct || ':parameter'
                          || CASE WHEN n LIKE '/%' THEN '' ELSE '/' END || n END,
                'AWS::SSM::Parameter')
        FOR n IN flatten([er_strs_of(q.name), er_strs_of(q.names)]) IF nullif(n, '') IS NOT NULL
    ] ELSE [] END,
    -- CloudWatch Logs log group
    CASE WHEN src = 'logs.amazonaws.com' THEN [
        er_item('arn:' || p || ':logs:' || region || ':' || acct || ':log-group:' || nullif(q.logGroupName, ''),
                CASE WHEN nullif(q.logGroupName, '') IS NOT NULL THEN 'AWS::Logs::LogGroup' END)
    ] ELSE [] END,
    -- Roles and instance profiles handed to a service (iam:PassRole)
    er_passed_roles(src, op, rp, p, acct),
    -- Conditions with no resource of their own, as markers (arn NULL)
    CASE WHEN src = 'ec2.amazonaws.com' AND q.tagSpecificationSet IS NOT NULL
         THEN [er_item(NULL, 'tag_on_create')] ELSE [] END,
    CASE WHEN src = 'secretsmanager.amazonaws.com' AND op = 'BatchGetSecretValue' AND q.filters IS NOT NULL
         THEN [er_item(NULL, 'list_filter')] ELSE [] END
]);

-- Kinds naming a resource's part in the call. CloudTrail's resources[] may list such a
-- resource under its plain type too (CopyObject's source as AWS::S3::Object); that listing
-- is dropped so the source does not count as the object written. Resources derived from
-- the request keep both (an in-place copy reads and writes the same object).
CREATE OR REPLACE MACRO er_is_role_kind(k) AS
    k IN ('copy_source', 'passed_role', 'passed_role_profile', 'kms_source_key', 'kms_destination_key');

CREATE OR REPLACE MACRO er_is_marker_kind(k) AS
    k IN ('tag_on_create', 'list_filter', 'partiql_select', 'partiql_insert', 'partiql_update', 'partiql_delete');

-- A list of items without repeats, as list_distinct gives it (order aside) but without
-- its per-row hash table for the lists of one or two items most calls have (list_distinct
-- was a third of the derivation's time). The list is bound once (a macro copies an
-- argument's expression at each use) by a lambda that captures nothing.
CREATE OR REPLACE MACRO er_distinct(items) AS [CASE
    WHEN len(l) < 2 THEN l
    WHEN len(l) = 2 THEN CASE WHEN l[1] IS NOT DISTINCT FROM l[2] THEN [l[1]] ELSE l END
    ELSE list_distinct(l) END FOR l IN [items]][1];

-- (IN lists rather than list_contains on a list literal: inside a lambda the literal is
-- built again for every element.)
CREATE OR REPLACE MACRO er_merge(listed, derived) AS er_distinct(flatten([
    CASE WHEN NOT list_bool_or([er_is_role_kind(y.kind) FOR y IN derived]) THEN listed
         ELSE [x FOR x IN listed
               IF NOT list_contains([y.arn FOR y IN derived IF er_is_role_kind(y.kind)], x.arn)] END,
    [x FOR x IN derived
     IF x.kind IS NOT NULL AND (x.arn IS NOT NULL OR er_is_marker_kind(x.kind))]]));

-- CloudTrail's own resources[] as items, those without an ARN left out.
CREATE OR REPLACE MACRO er_listed(resources) AS
    [er_item(r.arn, r."type") FOR r IN coalesce(resources, []) IF nullif(r.arn, '') IS NOT NULL];

-- The resources of one call from its parts, with the request already parsed (q, from
-- er_params), the operation normalised (op, from er_operation), the region never NULL
-- and its partition known (p, from er_partition): the form set-wise callers use
-- (usage_daily_rows), which compute those once per event as columns. A macro copies an
-- argument's whole expression at each use, and er_from_params uses each dozens of times.
-- er_merge uses its arguments several times too, so the two lists are bound once through
-- a one-element list comprehension whose body refers to nothing outside it (a lambda that
-- captures outer columns runs row by row, many times slower).
CREATE OR REPLACE MACRO event_touched_resources_of(event_source, op, resources, rp, q, account_id, region, p) AS
    [er_merge(etr_args.listed, etr_args.derived) FOR etr_args IN [{
        'listed': er_listed(resources),
        'derived': flatten([er_from_params(event_source, op, rp, q, account_id, region, p),
                            er_partiql(event_source, q, resources)])
    }]][1];

-- The resources one call touched (see the top of this file), from the event's own columns:
-- a convenience for single calls and tests. Set-wise callers compute the arguments of
-- event_touched_resources_of once per event as columns instead: here they are bound through
-- a one-element list comprehension, which makes the inner lambdas capture and run row by
-- row (fine for a few calls). Passing the expressions straight in would copy er_params(...)
-- into each of the dozens of places that use q, and creating the macro alone would then
-- take ~0.06 s, on every new database.
CREATE OR REPLACE MACRO event_touched_resources(event_source, event_name, resources, request_parameters, account_id, region) AS
    [event_touched_resources_of(a.s, a.op, a.res, a.rp, a.q, a.acct, a.region, a.p) FOR a IN [{
        's': event_source, 'op': er_operation(event_name), 'res': resources,
        'rp': request_parameters::JSON, 'q': er_params(request_parameters::JSON), 'acct': account_id,
        'region': coalesce(region, ''), 'p': er_partition(coalesce(region, ''))}]][1];
