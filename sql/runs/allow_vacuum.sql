-- Let prune's checkpoint merge row groups again (connections turn it off:
-- common/storage_settings.sql), so deleted events are compacted away and their blocks
-- freed. No $parameters.
SET max_vacuum_tasks = 100;
