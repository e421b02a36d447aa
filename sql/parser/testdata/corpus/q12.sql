-- q12: each bidder's bids per 10 seconds of processing time.
CREATE TABLE q12_sink (bidder BIGINT, bid_count BIGINT, starttime TIMESTAMP(3), endtime TIMESTAMP(3))
  WITH ('connector' = 'blackhole');
CREATE VIEW bid_proctime AS SELECT *, PROCTIME() AS p_time FROM bid;
INSERT INTO q12_sink
SELECT bidder, COUNT(*) AS bid_count, window_start AS starttime, window_end AS endtime
FROM TABLE(TUMBLE(TABLE bid_proctime, DESCRIPTOR(p_time), INTERVAL '10' SECOND))
GROUP BY bidder, window_start, window_end;
