-- PV and UV per minute over nginx/Apache access logs, and the top 10 pages
-- of each minute by views (ties by uri): the SQL form of `weir pvuv`.
--
--   weir sql -f pvuv.sql
--
-- Lines that are not page views go to the dead letters with their reason
-- (SET 'sql.dead-letters' = 'bad.jsonl' keeps them in a file).
CREATE TABLE access_log (
  remote_addr STRING,
  time_local  TIMESTAMP_LTZ(3),
  uri         STRING,
  WATERMARK FOR time_local AS time_local - INTERVAL '5' SECOND
) WITH ('connector' = 'filesystem', 'path' = 'access.log', 'format' = 'combined-log');

CREATE TABLE pvuv (window_start TIMESTAMP(3), window_end TIMESTAMP(3), pv BIGINT, uv BIGINT)
  WITH ('connector' = 'print');

CREATE TABLE top_uris (window_start TIMESTAMP(3), window_end TIMESTAMP(3), uri STRING, views BIGINT, rn BIGINT)
  WITH ('connector' = 'print');

-- Both results in one job: the INSERTs of a statement set share the source.
BEGIN STATEMENT SET;

INSERT INTO pvuv
SELECT window_start, window_end, COUNT(*) AS pv, COUNT(DISTINCT remote_addr) AS uv
FROM TABLE(TUMBLE(TABLE access_log, DESCRIPTOR(time_local), INTERVAL '1' MINUTE))
GROUP BY window_start, window_end;

INSERT INTO top_uris
SELECT * FROM (
  SELECT window_start, window_end, uri, views,
         ROW_NUMBER() OVER (PARTITION BY window_start, window_end ORDER BY views DESC, uri ASC) AS rn
  FROM (SELECT window_start, window_end, uri, COUNT(*) AS views
        FROM TABLE(TUMBLE(TABLE access_log, DESCRIPTOR(time_local), INTERVAL '1' MINUTE))
        GROUP BY window_start, window_end, uri)
) WHERE rn <= 10;

END;
