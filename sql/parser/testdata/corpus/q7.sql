-- q7: the highest bids of each 10-second window.
CREATE TABLE q7_sink (auction BIGINT, bidder BIGINT, price BIGINT, dateTime TIMESTAMP(3), extra STRING)
  WITH ('connector' = 'blackhole');
INSERT INTO q7_sink
SELECT b.auction, b.price, b.bidder, b.dateTime, b.extra
FROM bid b
JOIN (
  SELECT MAX(price) AS maxprice, window_end AS dateTime
  FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '10' SECOND))
  GROUP BY window_start, window_end
) b1
ON b.price = b1.maxprice
WHERE b.dateTime BETWEEN b1.dateTime - INTERVAL '10' SECOND AND b1.dateTime;
