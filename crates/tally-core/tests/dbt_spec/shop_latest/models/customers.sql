select 1 as customer_id, 'eu' as region, date '2024-01-01' as signed_up_at
