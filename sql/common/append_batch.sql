-- Append a batch of rows (an Arrow table registered under a name) to a table, by column name.
-- {{table}}: target table; {{batch}}: the registered batch. No values in the text.
INSERT INTO {{table}} BY NAME SELECT * FROM {{batch}}
