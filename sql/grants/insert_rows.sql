-- Append a batch of rows (an Arrow table registered by name) to a grants table.
-- {{table}}: target table; {{batch}}: the registered batch. No values in the text.
INSERT INTO {{table}} BY NAME SELECT * FROM {{batch}}
