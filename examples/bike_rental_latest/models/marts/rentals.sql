select
    r.rental_id,
    r.member_id,
    r.bike_id,
    r.start_station_id,
    r.end_station_id,
    r.started_at,
    r.duration_minutes,
    r.price,
    r.is_electric
from {{ ref('stg_rentals') }} as r
