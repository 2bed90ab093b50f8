-- Findings: one principal used by several distinct workloads in the window, told apart
-- by session-name families (session names without trailing run ids), source
-- identities and user-agent products. Raised when there are two or more session
-- families or source identities; medium, since a role shared by workloads must be
-- granted the union of their needs. $window_start, $as_of: the window.
INSERT INTO findings
WITH s AS (
    SELECT sd.principal_arn, session_family(sd.session_name) AS family, sd.session_name,
           sd.source_identity, user_agent_family(sd.user_agent) AS ua, sd.day, sd.calls
    FROM sessions_daily AS sd
    JOIN an_scope USING (principal_arn)
    WHERE sd.day BETWEEN $window_start AND $as_of
),
fam AS (
    SELECT principal_arn, family, sum(calls) AS calls, min(day) AS first_day, max(day) AS last_day,
           count(DISTINCT session_name) AS sessions,
           list(DISTINCT ua ORDER BY ua) FILTER (WHERE ua IS NOT NULL) AS user_agents,
           list(DISTINCT source_identity ORDER BY source_identity) FILTER (WHERE source_identity IS NOT NULL) AS source_identities
    FROM s WHERE family IS NOT NULL GROUP BY ALL
),
per_principal AS (
    SELECT s.principal_arn,
           count(DISTINCT s.family) AS families,
           count(DISTINCT s.source_identity) AS source_identities,
           count(DISTINCT s.ua) AS user_agents,
           list(DISTINCT s.ua ORDER BY s.ua) FILTER (WHERE s.ua IS NOT NULL) AS ua_list,
           list(DISTINCT s.source_identity ORDER BY s.source_identity) FILTER (WHERE s.source_identity IS NOT NULL) AS si_list
    FROM s GROUP BY ALL
),
fam_list AS (
    SELECT principal_arn,
           list(json_object('family', family, 'calls', calls, 'sessions', sessions,
                            'first_day', first_day, 'last_day', last_day,
                            'user_agents', coalesce(user_agents, []),
                            'source_identities', coalesce(source_identities, []))
                ORDER BY calls DESC, family) AS families_json,
           list(family ORDER BY calls DESC, family) AS family_names
    FROM fam GROUP BY ALL
)
SELECT p.principal_arn, 'shared_role', 'medium',
       format('Used by {} distinct workloads in the window ({})',
              greatest(p.families, p.source_identities),
              array_to_string(coalesce(f.family_names, p.si_list)[1:5], ', ')
              || CASE WHEN len(coalesce(f.family_names, p.si_list)) > 5 THEN ', ...' ELSE '' END),
       format('{} session-name families, {} source identities and {} user-agent products used this principal. Give each workload its own role, so each can be right-sized on its own.',
              p.families, p.source_identities, p.user_agents),
       json_object('session_families', coalesce(f.families_json, []),
                   'source_identities', coalesce(p.si_list, []),
                   'user_agents', coalesce(p.ua_list, []))
FROM per_principal AS p
LEFT JOIN fam_list AS f USING (principal_arn)
WHERE p.families >= 2 OR p.source_identities >= 2
