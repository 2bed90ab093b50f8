-- Forget the policy attachments of the principals about to be reloaded.
-- $accounts: account ids being reloaded; $principal_arns: principals in the new load.
DELETE FROM principal_policies
WHERE principal_arn IN (SELECT principal_arn FROM principals WHERE account_id IN (SELECT unnest($accounts::VARCHAR[])))
   OR principal_arn IN (SELECT unnest($principal_arns::VARCHAR[]))
