-- Drop one of ingest's temp tables at the end of a batch. Identifier {{table}}; no $parameters.
DROP TABLE IF EXISTS {{table}};
