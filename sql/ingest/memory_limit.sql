-- Cap DuckDB's buffer memory on the ingest connection, for each batch (DuckDB spills to
-- temp files beyond it; ~0.3 GiB more is Python, JSON parse buffers and the batch's temp
-- tables). What it caches of the tables is evicted between batches (release_cache.sql), so
-- peak RSS stays flat however large events grows. No $parameters.
SET memory_limit = '1GB';
