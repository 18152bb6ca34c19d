select 1 as order_id, 2 as amount, current_date as ordered_at
