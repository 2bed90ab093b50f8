-- Up to five newest event ids per (principal, event, success) in the window: the
-- evidence a reviewer can look up in CloudTrail. Empty when only aggregated usage was
-- loaded (e.g. from Athena). $as_of, $window_start: the window.
CREATE OR REPLACE TEMP TABLE an_event_samples AS
SELECT e.principal_arn, e.event_source, e.event_name, e.error_code IS NULL AS ok,
       max_by(e.event_id, e.event_time, 5) AS event_ids
FROM events AS e
WHERE e.principal_arn IN (SELECT principal_arn FROM an_scope)
  AND e.event_time >= CAST($window_start AS TIMESTAMP)
  AND e.event_time < CAST($as_of AS TIMESTAMP) + INTERVAL 1 DAY
GROUP BY ALL
