-- Drop one temporary working table of the evaluation. {{table}}: its name.
DROP TABLE IF EXISTS {{table}}
