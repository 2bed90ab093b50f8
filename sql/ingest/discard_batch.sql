-- Delete every row an unfinished batch stored (a --strict stop, or an error before its
-- commit). $batch_id.
DELETE FROM events WHERE batch_id = $batch_id;
