select
    rental_id,
    member_id,
    bike_id,
    start_station_id,
    end_station_id,
    started_at,
    duration_minutes,
    price,
    is_electric
from {{ ref('raw_rentals') }}
