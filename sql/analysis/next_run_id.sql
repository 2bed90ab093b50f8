-- The id of a new analysis run. No parameters.
SELECT nextval('analysis_run_seq') AS run_id
