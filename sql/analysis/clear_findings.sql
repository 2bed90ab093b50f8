-- Every run replaces the findings: the table always holds the latest run. No parameters.
DELETE FROM findings
