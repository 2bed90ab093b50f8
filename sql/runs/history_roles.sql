-- Per-role counts of the analysis runs linked to the given job runs. $run_ids: job run ids.
SELECT r.run_id, ar.principal_arn, ar.granted, ar.used, ar.unused, ar.never_needed,
       ar.unobservable, ar.denied, ar.unexplained
FROM runs AS r
JOIN analysis_run_roles AS ar ON ar.run_id = r.analysis_run_id
WHERE list_contains($run_ids, r.run_id)
ORDER BY r.run_id DESC, ar.principal_arn;
