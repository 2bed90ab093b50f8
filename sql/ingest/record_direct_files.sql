-- Temp table ingest_direct: the batch's files stored by insert_delivery.sql and how many
-- records each held (file_counts.sql reconciles them). $file_nos, $records: parallel lists.
CREATE OR REPLACE TEMP TABLE ingest_direct AS
SELECT unnest($file_nos::INTEGER[]) AS file_no, unnest($records::BIGINT[]) AS records;
