select
    member_id,
    plan,
    home_station_id,
    signed_up_on
from {{ ref('stg_members') }}
