-- Event-to-action mapping tables (recommender/mapping.py fills them; refresh_rules also
-- creates the views observed_actions and unmapped_calls, which need ingest's usage_daily).
-- No parameters.
CREATE TABLE IF NOT EXISTS event_source_prefixes (
    event_source VARCHAR PRIMARY KEY,  -- e.g. monitoring.amazonaws.com (lower case)
    prefix       VARCHAR NOT NULL,     -- the IAM service prefix, e.g. cloudwatch
    origin       VARCHAR NOT NULL      -- override | botocore_signing | botocore_endpoint | botocore_host_label | catalog
);
CREATE TABLE IF NOT EXISTS event_action_rules (
    event_source  VARCHAR NOT NULL,
    event_name    VARCHAR NOT NULL,    -- as CloudTrail writes it (version suffix included)
    action        VARCHAR,             -- service:Action in catalog case; NULL when rule = 'no_permission'
    resource_kind VARCHAR,             -- the usage_daily.resource_kind the action applies to; NULL: any resource its ARN template fits
    when_param    VARCHAR,             -- request condition (JSON path) under which the action is needed
    rule          VARCHAR NOT NULL,    -- same_name | version_suffix | sar | renamed | multi_action | when_param | no_permission | http_verb
    citation      VARCHAR,             -- the AWS documentation page the rule rests on (NULL only for same_name)
    note          VARCHAR
);
-- Built-in rules as shipped (recommender/data/event_action_rules.csv plus botocore-derived
-- API Gateway verbs), event_name may be a glob ('*', '*_GET'); resolved per observed pair.
CREATE TABLE IF NOT EXISTS mapping_builtin_rules (
    event_source  VARCHAR NOT NULL,
    event_name    VARCHAR NOT NULL,
    action        VARCHAR,
    resource_kind VARCHAR,
    when_param    VARCHAR,
    rule          VARCHAR NOT NULL,
    citation      VARCHAR,
    note          VARCHAR,
    is_glob       BOOLEAN NOT NULL,
    origin        VARCHAR NOT NULL     -- csv | botocore
);
CREATE TABLE IF NOT EXISTS mapping_resource_kinds (
    kind         VARCHAR PRIMARY KEY,
    own_resource BOOLEAN NOT NULL,     -- false: the resource plays another part in the call (copy source, passed role, marker)
    description  VARCHAR
);
-- Catalog ARN templates as anchored regular expressions, per action, to pick which of a
-- call's resources an action applies to.
CREATE TABLE IF NOT EXISTS mapping_arn_patterns (
    action        VARCHAR NOT NULL,
    resource_type VARCHAR NOT NULL,
    arn_template  VARCHAR NOT NULL,
    arn_regex     VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS mapping_meta (
    key   VARCHAR PRIMARY KEY,
    value VARCHAR
);
-- Operation-to-action facts from AWS's Service Authorization Reference JSON
-- (`recommender catalog update`); optional, never needed offline.
CREATE TABLE IF NOT EXISTS sar_operations (
    service   VARCHAR NOT NULL,        -- IAM prefix of the service document, e.g. s3
    operation VARCHAR NOT NULL,        -- API operation name, e.g. CopyObject
    action    VARCHAR NOT NULL         -- an action it authorizes, e.g. s3:GetObject
);
CREATE TABLE IF NOT EXISTS sar_sources (
    service    VARCHAR PRIMARY KEY,
    url        VARCHAR,
    sha256     VARCHAR,
    operations INTEGER,
    fetched_at TIMESTAMP
);
