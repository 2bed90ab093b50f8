-- Forget the policies of reloaded accounts and any policy the new load brings again.
-- $accounts: account ids; $policy_keys: keys in the new load.
DELETE FROM policies
WHERE account_id IN (SELECT unnest($accounts::VARCHAR[]))
   OR policy_key IN (SELECT unnest($policy_keys::VARCHAR[]))
