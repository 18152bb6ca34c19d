-- The office hours of models/calendars.yml as a hand-made calendar table, the way an analytics
-- engineer would load one into a warehouse: one row per calendar and UTC day of the calendars'
-- range (2026-01-01 to 2027-12-31), with the day's opening and closing instants and the open
-- seconds of the calendar before that day (cum_s). Every calendar of the project keeps its hours
-- in UTC with one interval a day and no exceptions, so a day is one interval (a closed day opens
-- and closes at midnight). Written by hand from the YAML, not exported by tally: the hand-written
-- business-time queries of intercom.sql read it, and tally-bench checks that they agree with
-- tally's business clock.
--
-- A timestamp's business clock is cum_s + the open seconds of its day before it
-- (bench.business_clock below); a business duration is the clock at its end minus the clock at
-- its start, NULL when the end comes first or either lies outside the range.
CREATE SCHEMA IF NOT EXISTS bench;

CREATE OR REPLACE TABLE bench.office_hours AS
WITH weekly (calendar, weekend, opens, closes) AS (
  -- weekend: whether the hours hold on Saturday and Sunday (FALSE: Monday to Friday)
  VALUES
    ('support_workspace', FALSE, INTERVAL 8 HOUR, INTERVAL 20 HOUR),
    ('tier1_hours', FALSE, INTERVAL 7 HOUR, INTERVAL 22 HOUR),
    ('tier1_hours', TRUE, INTERVAL 9 HOUR, INTERVAL 17 HOUR),
    ('technical_hours', FALSE, INTERVAL 7 HOUR, INTERVAL 20 HOUR),
    ('office_08_17', FALSE, INTERVAL 8 HOUR, INTERVAL 17 HOUR),
    ('office_08_18', FALSE, INTERVAL 8 HOUR, INTERVAL 18 HOUR)
),
calendars AS (
  SELECT DISTINCT calendar FROM weekly
),
days AS (
  SELECT c.calendar, CAST(d.day AS DATE) AS day, ISODOW(d.day) >= 6 AS is_weekend
  FROM calendars AS c
  CROSS JOIN range(DATE '2026-01-01', DATE '2028-01-01', INTERVAL 1 DAY) AS d(day)
),
hours AS (
  SELECT
    d.calendar,
    d.day,
    CAST(d.day AS TIMESTAMP) + COALESCE(w.opens, INTERVAL 0 HOUR) AS open_at,
    CAST(d.day AS TIMESTAMP) + COALESCE(w.closes, INTERVAL 0 HOUR) AS close_at
  FROM days AS d
  LEFT JOIN weekly AS w ON w.calendar = d.calendar AND w.weekend = d.is_weekend
)
SELECT
  calendar,
  day,
  open_at,
  close_at,
  date_diff('second', open_at, close_at) AS open_s,
  SUM(date_diff('second', open_at, close_at)) OVER (
    PARTITION BY calendar ORDER BY day ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS cum_s
FROM hours;

UPDATE bench.office_hours SET cum_s = 0 WHERE cum_s IS NULL;

-- Which calendar a team's conversations use (support_by_team); unmapped teams and unassigned
-- conversations use the workspace's hours.
CREATE OR REPLACE TABLE bench.team_calendar AS
SELECT * FROM (VALUES
  ('5310201', 'tier1_hours'),
  ('5310202', 'office_08_17'),
  ('5310203', 'technical_hours'),
  ('5310204', 'office_08_18'),
  ('5310205', 'office_08_18'),
  ('5310199', 'office_08_17')
) AS t(team_id, calendar);

-- The business clock of instant `t` on its day's row of bench.office_hours.
CREATE OR REPLACE MACRO bench.business_clock(t, open_at, close_at, cum_s) AS
  cum_s + date_diff('second', open_at, LEAST(GREATEST(t, open_at), close_at));
