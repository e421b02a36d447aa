-- q0: pass every bid through.
CREATE TABLE q0_sink (auction BIGINT, bidder BIGINT, price BIGINT, dateTime TIMESTAMP(3), extra STRING)
  WITH ('connector' = 'blackhole');
INSERT INTO q0_sink SELECT auction, bidder, price, dateTime, extra FROM bid;
