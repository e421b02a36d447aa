-- q4: the average closing price per category.
CREATE TABLE q4_sink (id BIGINT, final BIGINT) WITH ('connector' = 'blackhole');
INSERT INTO q4_sink
SELECT q.category, AVG(q.final)
FROM (
  SELECT MAX(b.price) AS final, a.category
  FROM auction a, bid b
  WHERE a.id = b.auction AND b.dateTime BETWEEN a.dateTime AND a.expires
  GROUP BY a.id, a.category
) q
GROUP BY q.category;
