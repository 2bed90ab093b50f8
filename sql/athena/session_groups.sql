-- Athena (Trino) aggregation of {{database}}.{{table}} into sessions_daily rows: who used a
-- principal each day, with the attribution and session parsing of the local ingest
-- (sql/ingest/extract_rows.sql), except source_identity (not in the standard DDL). Same filters and duplicate handling as usage_groups.sql;
-- same Trino/DuckDB common subset. $since, $before, $accounts, $regions, $skip_days: as in
-- usage_groups.sql.
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
        CAST(ts AS DATE) AS day,
        CASE
            WHEN useridentity.type = 'AssumedRole'
                THEN nullif(regexp_extract(useridentity.arn, ':assumed-role/.+/([^/]*)$', 1), '')
            WHEN useridentity.type = 'FederatedUser'
                THEN nullif(regexp_extract(useridentity.arn, ':federated-user/(.+)$', 1), '')
        END AS session_name,
        -- The standard CloudTrail DDL has no sessioncontext.sourceidentity: left NULL here.
        CAST(NULL AS VARCHAR) AS source_identity,
        useragent AS user_agent,
        sourceipaddress AS source_ip,
        nullif(useridentity.accesskeyid, '') AS access_key_id
    FROM trail
    WHERE ts IS NOT NULL AND (copy_no = 1 OR eventid IS NULL)
)
SELECT principal_arn, day, session_name, source_identity, user_agent, source_ip, access_key_id,
       count(*) AS calls
FROM attributed
WHERE strpos(',' || $skip_days || ',', ',' || CAST(day AS VARCHAR) || ',') = 0
GROUP BY principal_arn, day, session_name, source_identity, user_agent, source_ip, access_key_id
ORDER BY day, principal_arn, session_name, source_identity, user_agent, source_ip, access_key_id;
