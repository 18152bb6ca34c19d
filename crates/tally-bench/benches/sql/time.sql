-- Hand-written SQL for the benchmark-only cumulative and offset metrics of ../time_metrics.yml
-- (`{{ model }}` stands for the rendered `sql:` of that semantic model). Each section names the
-- metric and the group-by item tally-bench queries it by.

-- metric: bench_receipts_trailing_7_days by metric_time__day
WITH daily AS (
  SELECT CAST(DATE_TRUNC('day', received_at) AS DATE) AS day, COUNT(*) AS n
  FROM {{ content_receipts }} AS t
  GROUP BY 1
)
SELECT s.ds AS metric_time__day, SUM(d.n) AS bench_receipts_trailing_7_days
FROM bench.time_spine AS s
JOIN daily AS d ON d.day > s.ds - INTERVAL 7 DAY AND d.day <= s.ds
GROUP BY 1;

-- metric: bench_receipts_month_to_date by metric_time__day
WITH daily AS (
  SELECT CAST(DATE_TRUNC('day', received_at) AS DATE) AS day, COUNT(*) AS n
  FROM {{ content_receipts }} AS t
  GROUP BY 1
)
SELECT s.ds AS metric_time__day, SUM(d.n) AS bench_receipts_month_to_date
FROM bench.time_spine AS s
JOIN daily AS d ON d.day >= DATE_TRUNC('month', s.ds) AND d.day <= s.ds
GROUP BY 1;

-- metric: bench_messages_sent_change by metric_time__month
-- Like MetricFlow, the month after the last has a row (its value is NULL: only the month before exists).
WITH monthly AS (
  SELECT DATE_TRUNC('month', received_at) AS month, COUNT(*) AS n
  FROM {{ content_receipts }} AS t
  GROUP BY 1
),
months AS (
  SELECT month FROM monthly
  UNION
  SELECT month + INTERVAL 1 MONTH FROM monthly
)
SELECT m.month AS metric_time__month, this.n - last.n AS bench_messages_sent_change
FROM months AS m
LEFT JOIN monthly AS this ON this.month = m.month
LEFT JOIN monthly AS last ON last.month = m.month - INTERVAL 1 MONTH;
