-- Athena (Trino) aggregation of the CloudTrail table {{database}}.{{table}} (standard CloudTrail
-- Athena DDL) into per-day call groups: the principal attribution, account, outcome class and
-- day of the local ingest (sql/ingest/extract_rows.sql, macro cloudtrail_outcome), with the
-- record's resources[] and requestParameters kept so the resource derivation runs locally
-- with the one definition (macro event_touched_resources) -> usage_daily. Duplicate
-- deliveries are counted once (by eventID), records without eventSource/eventName/eventTime
-- and Insight events are left out, as local ingest does.
-- Written in the common subset of Trino and DuckDB SQL; DuckDB runs it after the two
-- macros of sql/athena/shim_*.sql (regexp_like, json_format).
-- $since: first day (YYYY-MM-DD); $before: day after the last day; $accounts / $regions:
-- comma-separated filters ('' = all); $skip_days: comma-separated days already loaded.
WITH trail AS (
    SELECT *,
           row_number() OVER (PARTITION BY eventid ORDER BY eventtime) AS copy_no,
           TRY_CAST(replace(replace(eventtime, 'T', ' '), 'Z', '') AS TIMESTAMP) AS ts
    FROM {{database}}.{{table}}
    WHERE eventtime >= $since AND eventtime < $before
      AND nullif(eventsource, '') IS NOT NULL AND nullif(eventname, '') IS NOT NULL
      AND coalesce(eventcategory, '') <> 'Insight'
      AND ($accounts = '' OR strpos(',' || $accounts || ',',
                                    ',' || coalesce(recipientaccountid, useridentity.accountid) || ',') > 0)
      AND ($regions = '' OR strpos(',' || $regions || ',', ',' || awsregion || ',') > 0)
),
attributed AS (
    SELECT
        CASE
            WHEN useridentity.type IN ('AssumedRole', 'FederatedUser')
                 AND nullif(useridentity.sessioncontext.sessionissuer.arn, '') IS NOT NULL
                THEN useridentity.sessioncontext.sessionissuer.arn
            WHEN useridentity.type = 'AssumedRole'
                 AND regexp_like(useridentity.arn, '^arn:[^:]+:sts::[0-9]*:assumed-role/.+/[^/]*$')
                THEN 'arn:' || regexp_extract(useridentity.arn, '^arn:([^:]+):sts::([0-9]*):assumed-role/(.+)/[^/]*$', 1)
                     || ':iam::' || regexp_extract(useridentity.arn, '^arn:([^:]+):sts::([0-9]*):assumed-role/(.+)/[^/]*$', 2)
                     || ':role/' || regexp_extract(useridentity.arn, '^arn:([^:]+):sts::([0-9]*):assumed-role/(.+)/[^/]*$', 3)
            WHEN nullif(useridentity.arn, '') IS NOT NULL THEN useridentity.arn
            ELSE nullif(useridentity.invokedby, '')
        END AS principal_arn,
        coalesce(recipientaccountid, useridentity.accountid) AS account_id,
        eventsource AS event_source,
        eventname AS event_name,
        CASE
            WHEN errorcode IS NULL OR errorcode = '' THEN 'ok'
            WHEN regexp_like(errorcode, '(?i)(accessdenied|unauthorized|forbidden|authorizationerror|notauthorized)')
                THEN 'denied'
            ELSE 'error'
        END AS outcome,
        CAST(ts AS DATE) AS day,
        awsregion AS aws_region,
        json_format(CAST(resources AS JSON)) AS resources_json,
        requestparameters AS request_parameters,
        ts
    FROM trail
    WHERE ts IS NOT NULL AND (copy_no = 1 OR eventid IS NULL)
)
SELECT principal_arn, account_id, event_source, event_name, outcome, day, aws_region,
       resources_json, request_parameters,
       count(*) AS calls, min(ts) AS first_seen, max(ts) AS last_seen
FROM attributed
WHERE strpos(',' || $skip_days || ',', ',' || CAST(day AS VARCHAR) || ',') = 0
GROUP BY principal_arn, account_id, event_source, event_name, outcome, day, aws_region,
         resources_json, request_parameters
ORDER BY day, principal_arn, event_source, event_name, outcome, resources_json, request_parameters;
