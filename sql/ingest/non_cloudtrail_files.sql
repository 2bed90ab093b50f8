-- Files of the batch in which no JSON value looks like a CloudTrail record (none has
-- eventVersion, eventTime, eventID or userIdentity) and nothing was unreadable: they are
-- skipped as "not CloudTrail", not rejected record by record. No $parameters.
SELECT file_no, count(*) AS values_read
FROM ingest_rows
GROUP BY file_no
HAVING NOT bool_or(ct_like) AND NOT bool_or(reason IS NOT NULL AND reason NOT LIKE 'missing %'
                                                AND reason NOT LIKE 'record is not a JSON object%')
ORDER BY file_no;
