-- Whether the connection currently preserves insertion order (restored after ingest).
-- No $parameters.
SELECT current_setting('preserve_insertion_order')::BOOLEAN AS preserved;
