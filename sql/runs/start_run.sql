-- Record the start of a `recommender run` job and return its id.
-- $started_at, $config_path, $window_days, $inputs (JSON text), $out_dir.
INSERT INTO runs (run_id, started_at, config_path, window_days, inputs, status, out_dir)
VALUES (nextval('job_run_seq'), $started_at, $config_path, $window_days, $inputs::JSON, 'running', $out_dir)
RETURNING run_id;
