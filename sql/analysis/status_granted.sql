-- One verdict per (principal, granted action): used, unused, never_needed or
-- unobservable, exactly as DESIGN.md defines them, each with its evidence in `why`.
-- Order of the tests: a covered successful call in the window (used); one before the
-- window only (unused); a grant that can never be exercised (never_needed); no
-- evidence that the logs record the action (unobservable: the account logs no event of
-- its data-event family and class, or some granted bucket / table / function has no
-- data event at all, from any principal); else never called (never_needed).
-- Trails select data events per bucket, table or function, so the granted patterns on
-- such unobserved scopes go to `unobserved_resources` whatever the verdict: the
-- recommender keeps them beside what was used.
-- $window_start: first day of the window; $history_start: first ingested day.
INSERT INTO role_action_status
    (principal_arn, action, status, calls, first_seen, last_seen, resources, why, unobserved_resources)
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
-- Each allowed, exercisable grant row of a data-event action with the scope its
-- pattern names (NULL: a wildcard there, judged by the account-wide rule instead).
grant_scopes AS (
    SELECT g.principal_arn, g.action_lc, g.resource_pattern, d.family,
           data_event_scope(d.family, g.resource_pattern) AS scope
    FROM an_grants AS g
    JOIN an_data_event_actions AS d USING (action_lc)
    WHERE g.status = 'allowed' AND g.fits
),
unobserved AS (
    SELECT gs.principal_arn, gs.action_lc,
           bool_and(gs.scope IS NOT NULL AND os.scope IS NULL) AS all_unobserved,
           list_sort(list_distinct(list(gs.resource_pattern)
               FILTER (WHERE gs.scope IS NOT NULL AND os.scope IS NULL))) AS patterns,
           array_to_string(list_sort(list_distinct(list(gs.scope)
               FILTER (WHERE gs.scope IS NOT NULL AND os.scope IS NULL))), ', ') AS scopes,
           CASE min(gs.family) WHEN 's3_object' THEN 'bucket(s)' WHEN 'dynamodb_item' THEN 'table(s)'
                ELSE 'function(s)' END AS scope_noun
    FROM grant_scopes AS gs
    LEFT JOIN an_observed_scopes AS os ON os.family = gs.family AND os.scope = gs.scope
    GROUP BY ALL
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
           ri.action_lc IS NOT NULL AS inferable,
           coalesce(un.patterns, []::VARCHAR[]) AS unobserved_patterns,
           coalesce(un.all_unobserved, false) AS all_unobserved,
           un.scopes AS unobserved_scopes, un.scope_noun
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
    LEFT JOIN unobserved AS un ON un.principal_arn = g.principal_arn AND un.action_lc = g.action_lc
)
SELECT principal_arn, action, status,
       CASE status WHEN 'used' THEN u_calls WHEN 'unused' THEN b_calls ELSE 0 END AS calls,
       CASE status WHEN 'used' THEN u_first WHEN 'unused' THEN b_first END AS first_seen,
       CASE status WHEN 'used' THEN u_last WHEN 'unused' THEN b_last END AS last_seen,
       CASE status WHEN 'used' THEN u_res WHEN 'unused' THEN b_res ELSE []::VARCHAR[] END AS resources,
       why,
       -- Patterns the account-wide rule already covers (the whole grant is kept) or
       -- that can never be exercised are not listed.
       CASE WHEN status IN ('used', 'unused')
                 OR (status = 'unobservable' AND account_logged AND family_events IS NOT NULL)
            THEN unobserved_patterns ELSE []::VARCHAR[] END AS unobserved_resources
FROM (
    SELECT *,
        CASE
            WHEN u_calls IS NOT NULL THEN 'used'
            WHEN b_calls IS NOT NULL THEN 'unused'
            WHEN NOT exercisable THEN 'never_needed'
            WHEN NOT account_logged THEN 'unobservable'
            WHEN family IS NOT NULL AND family_events IS NULL THEN 'unobservable'
            WHEN len(unobserved_patterns) > 0 THEN 'unobservable'
            WHEN permission_only AND NOT inferable THEN 'unobservable'
            ELSE 'never_needed'
        END AS status,
        CASE
            WHEN u_calls IS NOT NULL THEN
                CASE WHEN permission_only
                     THEN format('inferred from {} call(s) in the window that needed it: {}', u_calls, u_via)
                     ELSE format('{} successful call(s) in the window: {}', u_calls, u_via) END
                || CASE WHEN len(u_res) > 0 THEN format(' on {} resource(s)', len(u_res)) ELSE '' END
                || CASE WHEN len(unobserved_patterns) > 0
                        THEN format('; also granted on {} {}, for which no {} data events are logged',
                                    scope_noun, unobserved_scopes, family) ELSE '' END
            WHEN b_calls IS NOT NULL THEN
                format('no successful call in the window (since {}); last seen {} ({} call(s) before: {})',
                       $window_start, strftime(b_last, '%Y-%m-%d'), b_calls, b_via)
                || CASE WHEN len(unobserved_patterns) > 0
                        THEN format('; also granted on {} {}, for which no {} data events are logged',
                                    scope_noun, unobserved_scopes, family) ELSE '' END
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
            WHEN len(unobserved_patterns) > 0 THEN
                format('{} {} ({}); these logs hold no {} data event for {} {} from any principal, '
                       || 'so its use there cannot be seen ({})', action, recorded_as, family, family,
                       scope_noun, unobserved_scopes, citation)
                || CASE WHEN NOT all_unobserved
                        THEN format('; never called on its other granted resources (since {})', $history_start)
                        ELSE '' END
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
