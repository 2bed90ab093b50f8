-- The rules for every (event_source, event_name) in the table {{pairs}}: explicit built-in
-- rules first, then Service Authorization Reference facts, then the same-named catalog
-- action (after stripping an API version suffix), then glob fallbacks; conditional
-- (rule = 'when_param') built-in rules are always added. Pairs with no row are unmapped.
-- Result in the temp table {{out}}. $suffix_citation: the page documenting version-suffixed
-- event names.
CREATE OR REPLACE TEMP TABLE {{out}} AS
WITH p AS (
    SELECT DISTINCT event_source, event_name, er_operation(event_name) AS op
    FROM {{pairs}}
    WHERE event_source IS NOT NULL AND event_name IS NOT NULL
),
px AS (
    SELECT p.*, sp.prefix
    FROM p LEFT JOIN event_source_prefixes sp ON sp.event_source = lower(trim(p.event_source))
),
explicit AS (
    SELECT DISTINCT px.event_source, px.event_name, b.action, b.resource_kind, b.when_param, b.rule, b.citation, b.note
    FROM px JOIN mapping_builtin_rules b
      ON b.event_source = lower(trim(px.event_source)) AND NOT b.is_glob
     AND (b.event_name = px.event_name OR b.event_name = px.op)
),
globbed AS (
    SELECT DISTINCT px.event_source, px.event_name, b.action, b.resource_kind, b.when_param, b.rule, b.citation, b.note
    FROM px JOIN mapping_builtin_rules b
      ON b.event_source = lower(trim(px.event_source)) AND b.is_glob
     AND (px.event_name GLOB b.event_name OR px.op GLOB b.event_name)
),
replaced AS (
    SELECT DISTINCT event_source, event_name FROM explicit WHERE rule <> 'when_param'
),
sar AS (
    SELECT DISTINCT px.event_source, px.event_name, c.action, NULL AS resource_kind, NULL AS when_param,
           'sar' AS rule, src.url AS citation,
           'from the Service Authorization Reference JSON' AS note
    FROM px
    JOIN sar_operations s ON s.service = px.prefix AND lower(s.operation) = lower(px.op)
    JOIN catalog_actions c ON c.action_lc = lower(s.action)
    LEFT JOIN sar_sources src ON src.service = s.service
    WHERE NOT EXISTS (SELECT 1 FROM replaced r WHERE r.event_source = px.event_source AND r.event_name = px.event_name)
),
same AS (
    SELECT px.event_source, px.event_name, c.action, NULL AS resource_kind, NULL AS when_param,
           CASE WHEN lower(px.op) = lower(trim(px.event_name)) THEN 'same_name' ELSE 'version_suffix' END AS rule,
           CASE WHEN lower(px.op) = lower(trim(px.event_name)) THEN NULL ELSE $suffix_citation END AS citation,
           CASE WHEN px.op = px.event_name THEN NULL
                WHEN lower(px.op) = lower(trim(px.event_name)) THEN 'event name trimmed / case folded'
                ELSE 'API version suffix stripped' END AS note
    FROM px JOIN catalog_actions c ON c.action_lc = lower(px.prefix || ':' || px.op)
    WHERE NOT EXISTS (SELECT 1 FROM replaced r WHERE r.event_source = px.event_source AND r.event_name = px.event_name)
      AND NOT EXISTS (SELECT 1 FROM sar s WHERE s.event_source = px.event_source AND s.event_name = px.event_name)
),
fallback AS (
    SELECT g.* FROM globbed g
    WHERE g.rule <> 'when_param'
      AND NOT EXISTS (SELECT 1 FROM replaced r WHERE r.event_source = g.event_source AND r.event_name = g.event_name)
      AND NOT EXISTS (SELECT 1 FROM sar s WHERE s.event_source = g.event_source AND s.event_name = g.event_name)
      AND NOT EXISTS (SELECT 1 FROM same s WHERE s.event_source = g.event_source AND s.event_name = g.event_name)
)
SELECT DISTINCT * FROM (
    SELECT * FROM explicit
    UNION ALL SELECT * FROM sar
    UNION ALL SELECT * FROM same
    UNION ALL SELECT * FROM fallback
    UNION ALL SELECT * FROM globbed g
    WHERE g.rule = 'when_param'
      AND NOT EXISTS (SELECT 1 FROM explicit e WHERE e.event_source = g.event_source
                      AND e.event_name = g.event_name AND e.rule = 'no_permission')
)
ORDER BY event_source, event_name, action NULLS FIRST, resource_kind NULLS FIRST, when_param NULLS FIRST
