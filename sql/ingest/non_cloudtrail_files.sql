-- Files of the batch in which no JSON value looks like a CloudTrail record (none has
-- eventVersion, eventTime, eventID or userIdentity) and nothing was unreadable: they are
-- skipped as "not CloudTrail", not rejected record by record. same_skip is the reason
-- when every value was skipped for one and the same reason (an EventBridge event from
-- another source), else NULL. No $parameters.
SELECT file_no, count(*) AS values_read,
       CASE WHEN count(skip) = count(*) AND count(DISTINCT skip) = 1 THEN min(skip) END AS same_skip
FROM ingest_rows
GROUP BY file_no
HAVING NOT bool_or(ct_like) AND NOT bool_or(reason IS NOT NULL AND reason NOT LIKE 'missing %'
                                                AND reason NOT LIKE 'record is not a JSON object%')
ORDER BY file_no;
