-- The evidence of what these logs record, per account: which data-event families (and
-- read/write class) appear at all, from any principal, up to the end of the window;
-- and which accounts have any ingested activity. Read from the events' own category
-- and from every mapped call. $as_of: last day of the window.
CREATE OR REPLACE TEMP TABLE an_observability AS
WITH fam_sources AS (
    SELECT DISTINCT family, event_source FROM data_event_families
),
from_events AS (
    SELECT a.account_id, f.family, CASE WHEN e.read_only THEN 'read' ELSE 'write' END AS rw,
           count(*) AS events
    FROM events AS e
    JOIN fam_sources AS f ON f.event_source = e.event_source
    CROSS JOIN LATERAL (SELECT unnest([e.recipient_account_id, e.principal_account_id]) AS account_id) AS a
    WHERE e.event_category = 'Data' AND CAST(e.event_time AS DATE) <= $as_of
      AND a.account_id IS NOT NULL
    GROUP BY ALL
),
from_calls AS (
    SELECT a.account_id, d.family, d.rw, sum(o.calls) AS events
    FROM an_calls AS o
    JOIN an_data_event_actions AS d ON d.action_lc = lower(o.action)
    CROSS JOIN LATERAL (SELECT unnest([o.account_id, split_part(o.principal_arn, ':', 5)]) AS account_id) AS a
    WHERE a.account_id IS NOT NULL AND a.account_id <> ''
    GROUP BY ALL
),
accounts AS (
    SELECT DISTINCT a.account_id
    FROM (SELECT DISTINCT account_id, principal_arn FROM an_calls) AS c
    CROSS JOIN LATERAL (SELECT unnest([c.account_id, split_part(c.principal_arn, ':', 5)]) AS account_id) AS a
    WHERE a.account_id IS NOT NULL AND a.account_id <> ''
)
SELECT account_id, family, rw, sum(events)::BIGINT AS events
FROM (SELECT * FROM from_events UNION ALL SELECT * FROM from_calls)
GROUP BY ALL
UNION ALL
-- family NULL: the account has ingested activity at all
SELECT account_id, NULL, NULL, 0 FROM accounts
