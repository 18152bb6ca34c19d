select
    member_id,
    lower(plan) as plan,
    home_station_id,
    signed_up_on
from {{ ref('raw_members') }}
