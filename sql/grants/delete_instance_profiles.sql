-- Forget the instance profiles of the accounts about to be reloaded.
-- $accounts: account ids of the new load.
DELETE FROM instance_profiles
WHERE account_id IN (SELECT unnest($accounts::VARCHAR[]))
