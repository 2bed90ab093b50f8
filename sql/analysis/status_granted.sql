-- One verdict per (principal, granted action): used, unused, never_needed or
-- unobservable, exactly as DESIGN.md defines them, each with its evidence in `why`.
-- Order of the tests: a covered successful call in the window (used); one before the
-- window only (unused); a grant that can never be exercised (never_needed); no
-- evidence that the logs record the action (unobservable); else never called
-- (never_needed).
-- $window_start: first day of the window; $history_start: first ingested day.
INSERT INTO role_action_status
WITH granted AS (
    SELECT principal_arn, action_lc,
           min(action) AS action,
           bool_or(status = 'allowed' AND fits) AS exercisable,
           string_agg(DISTINCT CASE WHEN status = 'blocked' THEN reason END, '; ') AS blocked_reasons,
           string_agg(DISTINCT CASE WHEN status = 'allowed' AND NOT fits THEN resource_pattern END, ', ')
               AS misfit_patterns,
           min(CASE WHEN status = 'allowed' AND NOT fits THEN templates END) AS templates
    FROM an_grants
    GROUP BY principal_arn, action_lc
),
cov AS (
    SELECT o.* FROM an_obs AS o JOIN an_covered AS c USING (obs_id)
),
per_event AS (
    SELECT principal_arn, lower(action) AS action_lc, in_window,
           split_part(event_source, '.', 1) || ':' || event_name AS via, sum(calls) AS calls
    FROM cov GROUP BY ALL
),
via AS (
    SELECT principal_arn, action_lc, in_window,
           array_to_string(list(via || ' x' || calls ORDER BY calls DESC, via)[1:5], ', ')
           || CASE WHEN count(*) > 5 THEN ', ...' ELSE '' END AS via
    FROM per_event GROUP BY ALL
),
agg AS (
    SELECT principal_arn, lower(action) AS action_lc, in_window,
           sum(calls)::BIGINT AS calls, min(first_seen) AS first_seen, max(last_seen) AS last_seen,
           list_sort(list_distinct(list(resource_arn))) AS resources
    FROM cov GROUP BY ALL
),
rules_infer AS (
    SELECT DISTINCT lower(action) AS action_lc FROM event_action_rules WHERE action IS NOT NULL
),
verdict AS (
    SELECT g.*, s.account_id,
           u.calls AS u_calls, u.first_seen AS u_first, u.last_seen AS u_last, u.resources AS u_res, uv.via AS u_via,
           b.calls AS b_calls, b.first_seen AS b_first, b.last_seen AS b_last, b.resources AS b_res, bv.via AS b_via,
           acct.account_id IS NOT NULL AS account_logged,
           d.family, d.rw, d.citation, d.recorded_as,
           ev.events AS family_events,
           po.action IS NOT NULL AS permission_only,
           ri.action_lc IS NOT NULL AS inferable
    FROM granted AS g
    JOIN an_scope AS s USING (principal_arn)
    LEFT JOIN agg AS u ON u.principal_arn = g.principal_arn AND u.action_lc = g.action_lc AND u.in_window
    LEFT JOIN via AS uv ON uv.principal_arn = g.principal_arn AND uv.action_lc = g.action_lc AND uv.in_window
    LEFT JOIN agg AS b ON b.principal_arn = g.principal_arn AND b.action_lc = g.action_lc AND NOT b.in_window
    LEFT JOIN via AS bv ON bv.principal_arn = g.principal_arn AND bv.action_lc = g.action_lc AND NOT bv.in_window
    LEFT JOIN (SELECT DISTINCT account_id FROM an_observability WHERE family IS NULL) AS acct
      ON acct.account_id = s.account_id
    LEFT JOIN an_data_event_actions AS d ON d.action_lc = g.action_lc
    LEFT JOIN an_observability AS ev
      ON ev.account_id = s.account_id AND ev.family = d.family AND ev.rw = d.rw
    LEFT JOIN permission_only_actions AS po ON lower(po.action) = g.action_lc
    LEFT JOIN rules_infer AS ri ON ri.action_lc = g.action_lc
)
SELECT principal_arn, action, status,
       CASE status WHEN 'used' THEN u_calls WHEN 'unused' THEN b_calls ELSE 0 END AS calls,
       CASE status WHEN 'used' THEN u_first WHEN 'unused' THEN b_first END AS first_seen,
       CASE status WHEN 'used' THEN u_last WHEN 'unused' THEN b_last END AS last_seen,
       CASE status WHEN 'used' THEN u_res WHEN 'unused' THEN b_res ELSE []::VARCHAR[] END AS resources,
       why
FROM (
    SELECT *,
        CASE
            WHEN u_calls IS NOT NULL THEN 'used'
            WHEN b_calls IS NOT NULL THEN 'unused'
            WHEN NOT exercisable THEN 'never_needed'
            WHEN NOT account_logged THEN 'unobservable'
            WHEN family IS NOT NULL AND family_events IS NULL THEN 'unobservable'
            WHEN permission_only AND NOT inferable THEN 'unobservable'
            ELSE 'never_needed'
        END AS status,
        CASE
            WHEN u_calls IS NOT NULL THEN
                CASE WHEN permission_only
                     THEN format('inferred from {} call(s) in the window that needed it: {}', u_calls, u_via)
                     ELSE format('{} successful call(s) in the window: {}', u_calls, u_via) END
                || CASE WHEN len(u_res) > 0 THEN format(' on {} resource(s)', len(u_res)) ELSE '' END
            WHEN b_calls IS NOT NULL THEN
                format('no successful call in the window (since {}); last seen {} ({} call(s) before: {})',
                       $window_start, strftime(b_last, '%Y-%m-%d'), b_calls, b_via)
            WHEN NOT exercisable THEN
                'can never be exercised: '
                || concat_ws('; ', blocked_reasons,
                             CASE WHEN misfit_patterns IS NOT NULL
                                  THEN format('resource {} matches no resource of {} ({})',
                                              misfit_patterns, action, templates) END)
            WHEN NOT account_logged THEN
                format('no CloudTrail activity of account {} was ingested, so nothing can be concluded', account_id)
            WHEN family IS NOT NULL AND family_events IS NULL THEN
                format('{} {} ({}, {}); these logs hold no {} {} event for account {} ({})',
                       action, recorded_as, family, rw, family, rw, account_id, citation)
            WHEN permission_only AND NOT inferable THEN
                format('{} is never logged itself and no mapping rule infers it from the calls that need it', action)
            WHEN permission_only THEN
                format('no call that needs {} (inferred from the calls that pass it) in the ingested history (since {})',
                       action, $history_start)
            WHEN family IS NOT NULL THEN
                format('never called in the ingested history (since {}); the logs do record {} {} events ({} seen)',
                       $history_start, family, rw, family_events)
            ELSE format('never called in the ingested history (since {})', $history_start)
        END AS why
    FROM verdict
)
