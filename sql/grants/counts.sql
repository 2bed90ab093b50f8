-- Row counts of the grants tables, for the load summary. No parameters.
SELECT
    (SELECT count(*) FROM principals WHERE principal_type = 'role') AS roles,
    (SELECT count(*) FROM principals WHERE principal_type = 'user') AS users,
    (SELECT count(*) FROM principals WHERE is_agent) AS agents,
    (SELECT count(*) FROM policies) AS policies,
    (SELECT count(*) FROM statements) AS statements,
    (SELECT count(*) FROM grants) AS grants,
    (SELECT count(*) FROM effective_grants WHERE status = 'allowed') AS allowed,
    (SELECT count(*) FROM effective_grants WHERE status = 'blocked') AS blocked,
    (SELECT count(*) FROM iam_findings) AS findings,
    (SELECT count(*) FROM iam_load_errors) AS load_errors
