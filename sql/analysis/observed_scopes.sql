-- The resource scopes (data_event_scope: bucket, table, function) for which these logs
-- hold at least one data event of a family, from any principal and of either read/write
-- class, up to the end of the window. Trails select data events per bucket, table or
-- function, so a family seen in the account says nothing about a scope never named in
-- it. Read from the events' own resources and from every mapped call's resource.
-- $as_of: last day of the window.
CREATE OR REPLACE TEMP TABLE an_observed_scopes AS
WITH fam_sources AS (
    SELECT DISTINCT family, event_source FROM data_event_families
),
from_events AS (
    SELECT f.family, data_event_scope(f.family, r.res.arn) AS scope
    FROM events AS e
    JOIN fam_sources AS f ON f.event_source = e.event_source
    CROSS JOIN LATERAL (SELECT unnest(e.resources) AS res) AS r
    WHERE e.event_category = 'Data' AND CAST(e.event_time AS DATE) <= $as_of
),
from_calls AS (
    SELECT d.family, data_event_scope(d.family, o.resource_arn) AS scope
    FROM an_calls AS o
    JOIN an_data_event_actions AS d ON d.action_lc = lower(o.action)
    WHERE o.resource_arn IS NOT NULL
)
SELECT DISTINCT family, scope
FROM (SELECT * FROM from_events UNION ALL SELECT * FROM from_calls)
WHERE scope IS NOT NULL
