/* The rest of the dialect, one statement each: a ';' in a comment or in a
   'string;' does not end a statement. */
CREATE TEMPORARY TABLE IF NOT EXISTS cat.db.orders (
  order_id BIGINT NOT NULL,
  customer STRING COMMENT 'who; ordered',
  amount DECIMAL(10, 2),
  ratio DOUBLE,
  paid BOOLEAN,
  line ROW<item STRING, qty INT NOT NULL>,
  ts TIMESTAMP(3),
  ingested TIMESTAMP(3) WITH LOCAL TIME ZONE METADATA FROM 'timestamp' VIRTUAL,
  proc AS PROCTIME(),
  total AS amount * 1.2e0,
  `select` VARCHAR(10),
  WATERMARK FOR ts AS ts - INTERVAL '0 00:00:05.000' DAY TO SECOND,
  PRIMARY KEY (order_id) NOT ENFORCED
) COMMENT 'orders'
WITH (
  'connector' = 'kafka',
  'topic' = 'orders',
  'properties.bootstrap.servers' = 'localhost:9092',
  'scan.startup.mode' = 'earliest-offset',
  'format' = 'json',
  'json.ignore-parse-errors' = 'it''s true'
);
CREATE TABLE customers (id BIGINT PRIMARY KEY NOT ENFORCED, name STRING)
  WITH ('connector' = 'redis', 'url' = 'redis://localhost:6379', 'lookup.cache.max-rows' = '10000');
CREATE VIEW IF NOT EXISTS big_orders (id, who) AS
  SELECT order_id, customer FROM cat.db.orders WHERE amount > 100.00;
CREATE TEMPORARY SYSTEM FUNCTION IF NOT EXISTS parse_ua AS 'ParseUserAgent';
DROP TABLE IF EXISTS cat.db.orders;
DROP VIEW big_orders;
DROP TEMPORARY FUNCTION parse_ua;
SET 'table.local-time-zone' = 'Europe/Berlin';
SET;
RESET 'table.local-time-zone';
RESET;
SHOW TABLES;
SHOW VIEWS;
SHOW FUNCTIONS;
DESCRIBE cat.db.orders;
DESC orders;
EXPLAIN PLAN FOR SELECT * FROM orders;
EXPLAIN CHANGELOG_MODE, ESTIMATED_COST INSERT INTO sink SELECT a FROM t;
INSERT INTO sink (a, b) SELECT a, b FROM t;
INSERT OVERWRITE sink SELECT * FROM t;
INSERT INTO sink (SELECT * FROM t);
INSERT INTO sink VALUES (1, 'a'), (2, 'b');
SELECT DISTINCT customer FROM orders;
SELECT o.*, c.name FROM orders o LEFT OUTER JOIN customers c ON o.customer = c.name;
SELECT * FROM a RIGHT JOIN b USING (id) FULL OUTER JOIN c ON b.id = c.id CROSS JOIN d;
SELECT * FROM a JOIN (b JOIN c ON b.x = c.x) ON a.x = b.x;
SELECT o.order_id, c.name
FROM orders AS o
JOIN customers FOR SYSTEM_TIME AS OF o.proc AS c ON o.customer = c.id;
SELECT * FROM orders o, shipments s
WHERE o.order_id = s.order_id AND o.ts BETWEEN s.ts - INTERVAL '4' HOUR AND s.ts;
SELECT window_start, window_end, SUM(amount) AS total, APPROX_COUNT_DISTINCT(customer) AS customers
FROM TABLE(CUMULATE(TABLE orders, DESCRIPTOR(ts), INTERVAL '2' MINUTE, INTERVAL '10' MINUTE))
GROUP BY window_start, window_end
HAVING SUM(amount) > 10;
SELECT * FROM TABLE(TUMBLE(DATA => TABLE orders, TIMECOL => DESCRIPTOR(ts), SIZE => INTERVAL '1' HOUR,
                           OFFSET => INTERVAL '15' MINUTE));
SELECT * FROM TABLE(HOP(TABLE orders, DESCRIPTOR(ts), INTERVAL '5' MINUTE, INTERVAL '1' HOUR)) AS w (a, b);
SELECT * FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, window_end ORDER BY amount DESC NULLS LAST) AS rn
  FROM TABLE(TUMBLE(TABLE orders, DESCRIPTOR(ts), INTERVAL '10' MINUTE))
) WHERE rn <= 3;
SELECT customer, SUM(amount) OVER (PARTITION BY customer ORDER BY ts
  RANGE BETWEEN INTERVAL '1' HOUR PRECEDING AND CURRENT ROW) AS last_hour
FROM orders;
SELECT COUNT(*) OVER (ORDER BY ts ROWS UNBOUNDED PRECEDING) FROM orders;
WITH recent AS (SELECT * FROM orders WHERE ts > TIMESTAMP '2026-01-01 00:00:00'),
     named (a, b) AS (SELECT 1, 2)
SELECT * FROM recent
UNION ALL
SELECT * FROM orders WHERE order_id IN (SELECT id FROM customers)
ORDER BY order_id DESC
LIMIT 10;
SELECT a FROM t UNION SELECT b FROM u INTERSECT SELECT c FROM v EXCEPT SELECT d FROM w;
(SELECT a FROM t LIMIT 1) UNION ALL (SELECT a FROM u ORDER BY a LIMIT 2);
SELECT
  -amount + +2 * (3 - -4) / 5 % 6,
  NOT paid AND ratio >= 0.5 OR ratio <> 1 AND ratio != 2,
  customer || '-' || CAST(order_id AS STRING),
  TRY_CAST(customer AS INT),
  CAST(amount AS DECIMAL(18, 4)),
  CAST(ts AS TIMESTAMP_LTZ(3)),
  customer LIKE 'a\_%' ESCAPE '\',
  customer NOT LIKE '%z',
  customer SIMILAR TO '(a|b)%',
  order_id NOT IN (1, 2, 3),
  amount NOT BETWEEN 1 AND 10,
  amount BETWEEN SYMMETRIC 10 AND 1,
  customer IS NULL, customer IS NOT NULL, paid IS TRUE, paid IS NOT FALSE, paid IS UNKNOWN,
  CASE WHEN amount > 10 THEN 'big' WHEN amount > 1 THEN 'medium' ELSE 'small' END,
  CASE customer WHEN 'a' THEN 1 WHEN 'b' THEN 2 END,
  EXTRACT(HOUR FROM ts), EXTRACT(DOW FROM ts),
  SUBSTRING(customer FROM 2 FOR 3), SUBSTRING(customer, 2), SUBSTRING(customer FROM 2),
  TRIM(customer), TRIM(BOTH ' ' FROM customer), TRIM(LEADING FROM customer), TRIM('x' FROM customer),
  UPPER(customer), LOWER(customer), MOD(order_id, 10), SPLIT_INDEX(customer, ',', 1),
  REGEXP_EXTRACT(customer, '([a-z]+)', 1), DATE_FORMAT(ts, 'yyyy-MM-dd HH:mm:ss'), HOUR(ts),
  TIMESTAMPADD(MINUTE, 5, ts), TIMESTAMPDIFF(SECOND, ts, ts),
  CURRENT_TIMESTAMP, LOCALTIMESTAMP, CURRENT_DATE, NOW(),
  DATE '2026-12-07', TIME '12:00:00', TIMESTAMP '2026-12-07 12:00:00.000',
  INTERVAL '1' DAY, INTERVAL '2' HOUR, INTERVAL '1 02:03:04' DAY TO SECOND, INTERVAL '1-6' YEAR TO MONTH,
  ROW(order_id, customer), (order_id, customer),
  (SELECT MAX(amount) FROM orders),
  EXISTS (SELECT 1 FROM customers c WHERE c.id = o.order_id),
  line.item, o.line.qty, `weird name`, `back``quote`,
  1, 1.5, .5, 1e10, 2.5E-3, 'it''s', TRUE, FALSE, NULL,
  COUNT(DISTINCT customer) FILTER (WHERE paid),
  SUM(ALL amount)
FROM orders o;
SELECT bidder, COUNT(*), SESSION_START(dateTime, INTERVAL '10' SECOND)
FROM bid GROUP BY bidder, SESSION(dateTime, INTERVAL '10' SECOND);
SELECT 1;
-- A '(' holds a query, an expression or joined tables; the parser decides
-- by looking ahead.
SELECT ((SELECT 1) + 1), x IN ((SELECT 1), 2), x IN ((SELECT 1) UNION (SELECT 2)), ((SELECT 3)) FROM t;
SELECT * FROM ((SELECT a FROM t) UNION ALL (SELECT b FROM u)) AS x;
SELECT * FROM ((SELECT 1 AS a) AS s JOIN u ON s.a = u.a);
INSERT INTO t ((SELECT 1) UNION ALL (SELECT 2));
-- Words that are keywords only in places can be names.
CREATE TABLE `if` (`watermark` INT, `primary` INT, `constraint` INT, `day` INT) WITH ('connector' = 'print');
DROP TABLE `if`;
