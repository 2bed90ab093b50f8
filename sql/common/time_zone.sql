-- Every connection works in UTC, as CloudTrail does. No $parameters.
-- A time written without a zone ("2022-11-21 18:06:52", in some exports and fixtures) is
-- read in the session's time zone (cloudtrail_event_time), which DuckDB otherwise takes
-- from the machine: the same record would be stored at a different time on a machine in
-- another zone.
SET TimeZone = 'UTC';
