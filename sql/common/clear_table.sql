-- Empty one of our own tables before it is refilled.
-- {{table}}: the table (a checked identifier). No values.
DELETE FROM {{table}}
