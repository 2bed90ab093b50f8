-- One (event_source, event_name) to resolve for `recommender map SOURCE NAME`, into the temp
-- table mapping_one_pair. $event_source, $event_name: the call as CloudTrail writes it.
CREATE OR REPLACE TEMP TABLE mapping_one_pair AS
SELECT $event_source::VARCHAR AS event_source, $event_name::VARCHAR AS event_name
