select
    station_id,
    station_name,
    city,
    opened_on
from {{ ref('stg_stations') }}
