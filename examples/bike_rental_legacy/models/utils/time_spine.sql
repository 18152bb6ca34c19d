-- One row per day. The shop's fiscal year starts on 1 February, so fiscal quarters start on
-- 1 February, 1 May, 1 August and 1 November; `fiscal_quarter_start` is the first day of each day's.
with days as (
    select cast(range as date) as date_day
    from range(date '2024-01-01', date '2027-01-01', interval 1 day)
)

select
    date_day,
    cast(date_trunc('quarter', date_day - interval 1 month) + interval 1 month as date) as fiscal_quarter_start
from days
