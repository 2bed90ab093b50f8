-- The usage call groups returned by Athena (usage_groups.sql), as temp table athena_groups with
-- resources[] shaped like events.resources. resources_json holds Trino's positional rows
-- ([arn, accountId, type], the DDL's field order) or DuckDB's objects.
-- $principal_arn, $account_id, $event_source, $event_name, $outcome, $day, $aws_region,
-- $resources_json, $request_parameters, $calls, $first_seen, $last_seen: one list per column.
CREATE OR REPLACE TEMP TABLE athena_groups AS
SELECT principal_arn, account_id, event_source, event_name, outcome, day, aws_region,
       CASE WHEN resources_json IS NULL OR json_type(resources_json::JSON) <> 'ARRAY' THEN NULL
            ELSE [{'arn': CASE WHEN json_type(e) = 'ARRAY' THEN e ->> '$[0]' ELSE e ->> '$.arn' END,
                   'type': CASE WHEN json_type(e) = 'ARRAY' THEN e ->> '$[2]' ELSE e ->> '$.type' END,
                   'account_id': CASE WHEN json_type(e) = 'ARRAY' THEN e ->> '$[1]' ELSE e ->> '$.accountid' END}
                  FOR e IN json_extract(resources_json::JSON, '$[*]')]
       END AS resources,
       request_parameters::JSON AS request_parameters,
       calls, first_seen, last_seen
FROM (
    SELECT unnest($principal_arn::VARCHAR[]) AS principal_arn,
           unnest($account_id::VARCHAR[]) AS account_id,
           unnest($event_source::VARCHAR[]) AS event_source,
           unnest($event_name::VARCHAR[]) AS event_name,
           unnest($outcome::VARCHAR[]) AS outcome,
           unnest($day::DATE[]) AS day,
           unnest($aws_region::VARCHAR[]) AS aws_region,
           unnest($resources_json::VARCHAR[]) AS resources_json,
           unnest($request_parameters::VARCHAR[]) AS request_parameters,
           unnest($calls::BIGINT[]) AS calls,
           unnest($first_seen::TIMESTAMP[]) AS first_seen,
           unnest($last_seen::TIMESTAMP[]) AS last_seen
);
