-- q6: the average selling price of each seller's last 10 closed auctions.
CREATE TABLE q6_sink (seller BIGINT, avg_price BIGINT) WITH ('connector' = 'blackhole');
INSERT INTO q6_sink
SELECT q.seller,
       AVG(q.price) OVER (PARTITION BY q.seller ORDER BY q.dateTime ROWS BETWEEN 10 PRECEDING AND CURRENT ROW)
FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY a.id, a.seller ORDER BY b.price DESC) AS rownum
  FROM (SELECT a.id, a.seller, b.price, b.dateTime
        FROM auction AS a, bid AS b
        WHERE a.id = b.auction AND b.dateTime BETWEEN a.dateTime AND a.expires)
  WHERE rownum <= 1
) AS q;
