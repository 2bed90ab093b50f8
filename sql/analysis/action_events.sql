-- Sample event ids per (principal, action, outcome) in the window, through the events
-- whose mapping needs the action; findings quote them as evidence. No parameters.
CREATE OR REPLACE TEMP TABLE an_action_events AS
SELECT o.principal_arn,
       lower(coalesce(o.action, split_part(o.event_source, '.', 1) || ':' || o.event_name)) AS action_lc,
       o.outcome,
       list_sort(list_distinct(flatten(list(s.event_ids))))[1:5] AS event_ids
FROM (SELECT DISTINCT principal_arn, action, event_source, event_name, outcome
      FROM an_obs WHERE in_window) AS o
JOIN an_event_samples AS s
  ON s.principal_arn = o.principal_arn AND s.event_source = o.event_source
 AND s.event_name = o.event_name AND s.ok = (o.outcome = 'ok')
GROUP BY ALL
