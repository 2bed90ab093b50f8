-- The IAM catalog version the grants were expanded with. No parameters.
SELECT key, value FROM catalog_meta ORDER BY key
