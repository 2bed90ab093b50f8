-- Every (action, resource type, ARN template) of the catalog, for building
-- mapping_arn_patterns. No parameters.
SELECT ar.action, ar.resource_type, rt.arn_template
FROM catalog_action_resources ar
JOIN catalog_actions ca ON ca.action = ar.action
JOIN catalog_resource_types rt ON rt.service = ca.service AND rt.resource_type = ar.resource_type
WHERE rt.arn_template IS NOT NULL
ORDER BY ar.action, ar.resource_type
