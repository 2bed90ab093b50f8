-- Delete the rows insert_delivery.sql stored for files that go to the documents path
-- instead. $batch_id; $uris: list of the files' uris.
DELETE FROM events
WHERE batch_id = $batch_id AND list_contains($uris::VARCHAR[], source_uri);
