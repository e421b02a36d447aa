-- q10: every bid with its day and minute, for a partitioned file sink.
SET 'table.local-time-zone' = 'UTC';
CREATE TABLE q10_sink (
  auction BIGINT, bidder BIGINT, price BIGINT, dateTime TIMESTAMP(3), extra STRING,
  dt STRING, hm STRING
) WITH ('connector' = 'filesystem', 'path' = 'out/q10', 'format' = 'csv');
INSERT INTO q10_sink
SELECT auction, bidder, price, dateTime, extra,
       DATE_FORMAT(dateTime, 'yyyy-MM-dd'), DATE_FORMAT(dateTime, 'HH:mm')
FROM bid;
