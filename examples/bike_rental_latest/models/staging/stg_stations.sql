select
    station_id,
    trim(station_name) as station_name,
    city,
    opened_on
from {{ source('shop_raw', 'raw_stations') }}
