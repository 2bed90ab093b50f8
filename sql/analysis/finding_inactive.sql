-- Findings: principals with no recorded call at all in the window. Low; info when the
-- account has no ingested CloudTrail at all (nothing can be concluded then).
-- $window_start, $as_of, $window_days.
INSERT INTO findings
WITH active AS (
    SELECT DISTINCT principal_arn FROM usage_daily
    WHERE day BETWEEN $window_start AND $as_of
      AND principal_arn IN (SELECT principal_arn FROM an_scope)
),
history AS (
    SELECT principal_arn, max(last_seen) AS last_seen, sum(calls) AS calls FROM usage_daily
    WHERE day <= $as_of AND principal_arn IN (SELECT principal_arn FROM an_scope)
    GROUP BY principal_arn
),
granted AS (
    SELECT principal_arn, count(*) AS actions FROM role_action_status
    WHERE status IN ('used', 'unused', 'never_needed', 'unobservable') GROUP BY principal_arn
),
logged AS (
    SELECT DISTINCT account_id FROM an_observability WHERE family IS NULL
)
SELECT s.principal_arn, 'inactive',
       CASE WHEN l.account_id IS NULL THEN 'info' ELSE 'low' END,
       CASE WHEN l.account_id IS NULL
            THEN format('No CloudTrail from account {} was ingested', s.account_id)
            ELSE format('No activity in the last {} days', $window_days) END,
       CASE WHEN l.account_id IS NULL
            THEN 'Its activity cannot be judged until the account''s CloudTrail is ingested.'
            WHEN h.last_seen IS NOT NULL
            THEN format('Last call seen {} ({} call(s) in the ingested history). If nothing uses it any more, delete it; its {} granted action(s) go with it.',
                        strftime(h.last_seen, '%Y-%m-%d'), h.calls, coalesce(gr.actions, 0))
            ELSE format('No call in the ingested history{}. If nothing uses it, delete it; its {} granted action(s) go with it.',
                        CASE WHEN s.last_used_at IS NOT NULL
                             THEN ' (IAM reports it last used ' || strftime(s.last_used_at, '%Y-%m-%d') || ')'
                             ELSE '' END,
                        coalesce(gr.actions, 0)) END,
       json_object('last_seen', iso_ts(h.last_seen), 'history_calls', coalesce(h.calls, 0),
                   'iam_last_used_at', iso_ts(s.last_used_at), 'granted_actions', coalesce(gr.actions, 0),
                   'account_logged', l.account_id IS NOT NULL)
FROM an_scope AS s
LEFT JOIN active AS a USING (principal_arn)
LEFT JOIN history AS h USING (principal_arn)
LEFT JOIN granted AS gr USING (principal_arn)
LEFT JOIN logged AS l ON l.account_id = s.account_id
WHERE a.principal_arn IS NULL
