{{ config(schema='product') }}

select
    session_id,
    member_id,
    session_started_at,
    platform
from {{ ref('stg_app_sessions') }}
