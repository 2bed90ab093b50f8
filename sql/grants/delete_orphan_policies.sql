-- Drop policies nothing uses any more (customer managed ones stay: they exist unattached).
-- No parameters.
DELETE FROM policies
WHERE kind <> 'customer_managed'
  AND policy_key NOT IN (SELECT policy_key FROM principal_policies)
