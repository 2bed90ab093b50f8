-- Drop one of ingest's temp views at the end of a batch. Identifier {{view}}; no $parameters.
DROP VIEW IF EXISTS {{view}};
