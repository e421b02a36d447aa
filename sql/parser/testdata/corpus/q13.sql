-- q13: every bid joined with a bounded side input by a lookup join.
CREATE TABLE side_input (`key` BIGINT, `value` STRING)
  WITH ('connector' = 'filesystem', 'path' = 'data/side_input.txt', 'format' = 'csv');
CREATE TABLE q13_sink (auction BIGINT, bidder BIGINT, price BIGINT, dateTime TIMESTAMP(3), `value` STRING)
  WITH ('connector' = 'blackhole');
INSERT INTO q13_sink
SELECT b.auction, b.bidder, b.price, b.dateTime, s.`value`
FROM (SELECT *, PROCTIME() AS p_time FROM bid) b
JOIN side_input FOR SYSTEM_TIME AS OF b.p_time AS s
ON MOD(b.auction, 10000) = s.`key`;
