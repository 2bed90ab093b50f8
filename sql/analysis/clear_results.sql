-- Every run replaces the analysis results: the tables always hold the latest run.
-- No parameters.
DELETE FROM role_action_status
