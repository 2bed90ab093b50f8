-- Drop statements of policies that are gone or about to be inserted again.
-- $policy_keys: keys in the new load (may be empty).
DELETE FROM statements
WHERE policy_key NOT IN (SELECT policy_key FROM policies)
   OR policy_key IN (SELECT unnest($policy_keys::VARCHAR[]))
