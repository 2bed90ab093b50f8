-- Catalog actions that CloudTrail records only as data events (or not at all), with their
-- family and read/write class (trails can log read-only or write-only data events).
-- No parameters.
CREATE OR REPLACE TEMP TABLE an_data_event_actions AS
SELECT ca.action_lc, min(f.family) AS family, min(f.event_source) AS event_source,
       min(f.citation) AS citation, min(f.recorded_as) AS recorded_as,
       CASE WHEN min(ca.access_level) IN ('Read', 'List') THEN 'read' ELSE 'write' END AS rw
FROM catalog_actions AS ca
JOIN data_event_families AS f
  ON ca.service = f.service
 AND ((f.action_glob IS NOT NULL AND ca.action_lc GLOB lower(f.action_glob))
      OR (f.resource_type IS NOT NULL AND list_contains(ca.resource_types, f.resource_type)))
GROUP BY ca.action_lc
