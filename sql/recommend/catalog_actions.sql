-- Every catalog action with the resource types it can be scoped to. No parameters.
SELECT action, resource_types FROM catalog_actions ORDER BY action_lc
