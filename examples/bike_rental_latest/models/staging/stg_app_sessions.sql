select
    session_id,
    member_id,
    session_started_at,
    platform
from {{ ref('raw_app_sessions') }}
