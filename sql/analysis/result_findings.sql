-- Every finding of the latest run, most severe first within a principal; evidence as
-- JSON text. No parameters.
SELECT principal_arn, kind, severity, title, detail, CAST(evidence AS VARCHAR) AS evidence
FROM findings
ORDER BY principal_arn NULLS LAST, severity_rank(severity), kind, title, CAST(evidence AS VARCHAR)
