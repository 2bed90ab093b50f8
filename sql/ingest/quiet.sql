-- Keep DuckDB's own progress bar off stdout (ingest reports progress through its callback,
-- and `--format json` must print exactly one JSON document). No $parameters.
SET enable_progress_bar = false;
