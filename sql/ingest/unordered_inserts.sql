-- Let DuckDB write the batch's temp tables and events in any row order while ingest runs:
-- keeping insertion order serialises the parse → unnest → insert pipeline of the fast path
-- (about 1.6x slower on 2 cores, benchmarks/bench_ingest.py). Nothing ingest does depends
-- on physical row order (every ordered result has ORDER BY; record order is file_no, idx).
-- ingest() puts the previous setting back when it returns. No $parameters.
SET preserve_insertion_order = false;
