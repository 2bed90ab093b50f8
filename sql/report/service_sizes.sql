-- How many actions each service has in the catalog, so the report can say
-- "all 412 ec2 actions" instead of listing them. No parameters.
SELECT service, count(*) AS actions FROM catalog_actions GROUP BY service ORDER BY service
