-- Record that the schema files with this fingerprint ran. $fingerprint, $applied_at.
INSERT OR REPLACE INTO schema_state (id, fingerprint, applied_at)
VALUES (1, $fingerprint, $applied_at::TIMESTAMP);
