-- Forget the principals of the accounts about to be reloaded (a reload replaces an account).
-- $accounts: account ids; $principal_arns: principals in the new load.
DELETE FROM principals
WHERE account_id IN (SELECT unnest($accounts::VARCHAR[]))
   OR principal_arn IN (SELECT unnest($principal_arns::VARCHAR[]))
