-- View mapping_pair_calls: calls per (event_source, event_name) in usage_daily, split by
-- outcome. Counted from events where ingest kept them (exact); otherwise (usage_daily
-- filled without events, e.g. from Athena) estimated from usage_daily, where a call
-- touching several resources has several rows: the estimate is the most calls of any row
-- of a (principal, account, pair, outcome, day) group, a lower bound. No parameters.
CREATE OR REPLACE VIEW mapping_pair_calls AS
WITH ev AS (
    SELECT event_source, event_name, count(*) AS calls,
           count(*) FILTER (WHERE cloudtrail_outcome(error_code) = 'ok') AS calls_ok,
           count(*) FILTER (WHERE cloudtrail_outcome(error_code) = 'denied') AS calls_denied
    FROM events GROUP BY event_source, event_name
),
groups AS (
    SELECT event_source, event_name, outcome, max(calls) AS calls
    FROM usage_daily
    GROUP BY principal_arn, account_id, event_source, event_name, outcome, day
),
est AS (
    SELECT event_source, event_name, sum(calls) AS calls,
           coalesce(sum(calls) FILTER (WHERE outcome = 'ok'), 0) AS calls_ok,
           coalesce(sum(calls) FILTER (WHERE outcome = 'denied'), 0) AS calls_denied
    FROM groups GROUP BY event_source, event_name
)
SELECT est.event_source, est.event_name,
       coalesce(ev.calls, est.calls)::BIGINT AS calls,
       coalesce(ev.calls_ok, est.calls_ok)::BIGINT AS calls_ok,
       coalesce(ev.calls_denied, est.calls_denied)::BIGINT AS calls_denied,
       ev.calls IS NOT NULL AS exact
FROM est
LEFT JOIN ev ON ev.event_source IS NOT DISTINCT FROM est.event_source
            AND ev.event_name IS NOT DISTINCT FROM est.event_name
