-- The time of the newest stored event (NULL when there is none). No parameters.
SELECT max(event_time) AS newest FROM events;
