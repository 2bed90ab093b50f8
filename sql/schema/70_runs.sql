-- The history of `recommender run` jobs: one row per run, linked to the ingest run and
-- the analysis run it produced (per-role counts live in analysis_run_roles). No $parameters.
-- Idempotent: runs on connect (see db.ensure_schema).
CREATE SEQUENCE IF NOT EXISTS job_run_seq START 1;

CREATE TABLE IF NOT EXISTS runs (
    run_id          BIGINT PRIMARY KEY,
    started_at      TIMESTAMP NOT NULL,
    finished_at     TIMESTAMP,
    config_path     VARCHAR,
    window_days     INTEGER,
    as_of           DATE,
    inputs          JSON,             -- what was read: log paths, S3 URLs and filters, IAM source
    status          VARCHAR NOT NULL, -- running | ok | rejections | error | invariant_refused
    counts          JSON,             -- ingest / iam / analysis / recommendation totals, pr branch
    out_dir         VARCHAR,
    ingest_run_id   BIGINT,           -- ingest_runs.run_id (NULL when nothing was ingested)
    analysis_run_id BIGINT,           -- analysis_runs.run_id: per-role counts in analysis_run_roles
    error           VARCHAR
);
