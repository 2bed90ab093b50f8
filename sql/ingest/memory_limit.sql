-- Cap DuckDB's buffer memory on the ingest connection so peak RSS stays flat however large
-- events grows (DuckDB spills to temp files beyond it; ~0.5 GiB more is Python, JSON parse
-- buffers and the batch's temp tables). No $parameters.
SET memory_limit = '1GB';
