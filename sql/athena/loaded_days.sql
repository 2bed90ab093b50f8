-- Days of an Athena table already aggregated into usage_daily (recorded in ingest_files under
-- uri $prefix || 'YYYY-MM-DD'). $prefix: 'athena://<database>.<table>/' plus the filters.
SELECT uri FROM ingest_files WHERE starts_with(uri, $prefix) AND status = 'ok';
