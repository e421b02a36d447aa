-- q1: every bid's price in euros.
CREATE TABLE q1_sink (auction BIGINT, bidder BIGINT, price DECIMAL(18, 3), dateTime TIMESTAMP(3), extra STRING)
  WITH ('connector' = 'blackhole');
INSERT INTO q1_sink
SELECT auction, bidder, 0.908 * price AS price, dateTime, extra FROM bid;
