-- Empty one derived grants table before it is rebuilt. {{table}}: a grants-stage table name.
DELETE FROM {{table}}
