select 1 as order_id, 1 as customer_id, date '2024-01-01' as ordered_at, 10.0 as amount, 'new' as status
