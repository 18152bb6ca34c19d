{#- The Intercom project's own macros (read as a project template; tally's built-in library is crates/tally-templates). -#}

{#- intercom_conversation_contact(conversation): a SELECT of one row per conversation of the
    relation `conversation` (current conversation_history rows): conversation_id and contact_id.
    The contact is the conversation's author: source_author_id when the customer started it
    (source_delivered_as = 'customer_initiated' and a contact wrote the opening message). Only
    when that is missing (outbound conversations, or no author) it falls back to the smallest
    active contact_id of conversation_contact_history, which in a conversation with two contacts
    is the older one (a CC'd colleague), never the customer who wrote in. -#}
{%- macro intercom_conversation_contact(conversation) -%}
SELECT
  _tally_c.id AS conversation_id,
  COALESCE(
    CASE WHEN _tally_c.source_delivered_as = 'customer_initiated'
          AND _tally_c.source_author_type IN ('user', 'lead', 'contact')
         THEN _tally_c.source_author_id END,
    _tally_cc.contact_id) AS contact_id
FROM {{ conversation }} AS _tally_c
LEFT JOIN (
  SELECT conversation_id, MIN(contact_id) AS contact_id
  FROM intercom.conversation_contact_history
  WHERE COALESCE(_fivetran_active, TRUE)
  GROUP BY conversation_id
) AS _tally_cc ON _tally_cc.conversation_id = _tally_c.id
{%- endmacro -%}

{#- intercom_reply_times(conversation, part): a SELECT of one row per teammate reply to a customer
    (Intercom's reply times): every visible human teammate part (a comment, or a reply carried by an
    assignment / open / close part) that follows at least one customer message (a customer comment
    or quick reply, or the opening message of an inbound conversation) since the previous teammate
    reply. reply_minutes runs from the first of those customer messages to the reply (wall clock);
    is_first_response marks the conversation's first such reply. `conversation` and `part` are the
    current rows of conversation_history and conversation_part_history. Columns: conversation_id,
    part_id, author_id, replied_at, customer_message_at (the first customer message answered),
    reply_minutes, is_first_response. -#}
{%- macro intercom_reply_times(conversation, part) -%}
SELECT
  _tally_turns.conversation_id,
  _tally_turns.part_id,
  _tally_turns.author_id,
  _tally_turns.created_at AS replied_at,
  _tally_turns.turn_started_at AS customer_message_at,
  {{ seconds_between('_tally_turns.turn_started_at', '_tally_turns.created_at') }} / 60.0 AS reply_minutes,
  {{ as_boolean("ROW_NUMBER() OVER (PARTITION BY _tally_turns.conversation_id ORDER BY _tally_turns.created_at, _tally_turns.part_id) = 1") }} AS is_first_response
FROM (
  SELECT
    _tally_numbered.*,
    MIN(CASE WHEN _tally_numbered.is_human = 0 THEN _tally_numbered.created_at END)
      OVER (PARTITION BY _tally_numbered.conversation_id, _tally_numbered.turn) AS turn_started_at
  FROM (
    SELECT
      _tally_messages.*,
      -- the number of teammate replies before this message: a reply and the customer messages
      -- it answers share it
      SUM(_tally_messages.is_human) OVER (
        PARTITION BY _tally_messages.conversation_id
        ORDER BY _tally_messages.created_at, _tally_messages.is_human, _tally_messages.part_id
        ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) - _tally_messages.is_human AS turn
    FROM (
      SELECT conversation_id, id AS part_id, author_id, created_at, 0 AS is_human
      FROM {{ part }}
      WHERE author_type IN ('user', 'lead') AND part_type IN ('comment', 'quick_reply')
      UNION ALL
      SELECT conversation_id, id AS part_id, author_id, created_at, 1 AS is_human
      FROM {{ part }}
      WHERE author_type = 'admin'
        AND (part_type = 'comment' OR (body IS NOT NULL AND part_type IN ('assignment', 'assign_and_reopen', 'open', 'close')))
      UNION ALL
      SELECT id AS conversation_id, '' AS part_id, source_author_id AS author_id, created_at, 0 AS is_human
      FROM {{ conversation }}
      WHERE source_delivered_as = 'customer_initiated'
    ) AS _tally_messages
  ) AS _tally_numbered
) AS _tally_turns
WHERE _tally_turns.is_human = 1 AND _tally_turns.turn_started_at IS NOT NULL
{%- endmacro -%}

{#- intercom_support_session_actions(): a SELECT of one row per support-seeking action, each
    placed in its support session as Intercom's Conversational Support funnel defines it. The
    actions: help-center landings and searches (help_center_event), article views in the help
    center or the Messenger (article_view), and inbound conversations (their start, by the
    conversation's contact). A person is the contact, else the anonymous visitor id. A session is
    the 24-hour period (self_serve_session_hours) that starts at a person's first action; the
    first action at or after its end starts the next one. A gap of a session length or more
    between two actions always starts a session, so windows split each person's actions into
    segments at such gaps; a segment shorter than a session is one session, and only the rare
    longer segments take a walk over their actions in time order (a recursive CTE: a session
    start depends on the previous one, which no fixed-gap window function can express). The
    walk's steps are the actions of the longest such segment, not of the busiest person.
    A conversation is "closed by automation" when Fin (or Custom Answers) resolved it
    (ai_agent_resolution_state assumed_resolution or confirmed_resolution) and no teammate ever
    replied; every other inbound conversation is a conversation with human support.
    Columns: person_key, contact_id, kind (landing, search, article_view, conversation),
    action_id, conversation_id, acted_at, session_started_at, is_fin_answered, is_fin_closed,
    is_human (0/1 integers). -#}
{%- macro intercom_support_session_actions() -%}
WITH RECURSIVE _tally_conversation AS (
  {{ fivetran_current('intercom.conversation_history', 'id', 'updated_at') }}
),
_tally_part AS (
  {{ fivetran_current('intercom.conversation_part_history', 'id', 'conversation_updated_at') }}
),
_tally_contact AS (
  {{ intercom_conversation_contact('_tally_conversation') }}
),
_tally_teammate_replied AS (
  SELECT DISTINCT conversation_id
  FROM _tally_part
  WHERE author_type = 'admin'
    AND (part_type = 'comment' OR (body IS NOT NULL AND part_type IN ('assignment', 'assign_and_reopen', 'open', 'close')))
),
_tally_inbound AS (
  SELECT
    _tally_k.contact_id,
    _tally_c.id AS conversation_id,
    _tally_c.created_at,
    CASE WHEN COALESCE(_tally_c.ai_agent_participated, FALSE) THEN 1 ELSE 0 END AS is_fin_answered,
    CASE WHEN _tally_c.ai_agent_resolution_state IN ('assumed_resolution', 'confirmed_resolution')
          AND _tally_r.conversation_id IS NULL THEN 1 ELSE 0 END AS is_fin_closed
  FROM _tally_conversation AS _tally_c
  JOIN _tally_contact AS _tally_k ON _tally_k.conversation_id = _tally_c.id
  LEFT JOIN _tally_teammate_replied AS _tally_r ON _tally_r.conversation_id = _tally_c.id
  WHERE _tally_c.source_delivered_as = 'customer_initiated' AND _tally_k.contact_id IS NOT NULL
),
_tally_action AS (
  SELECT COALESCE(contact_id, anonymous_id) AS person_key, contact_id,
         CASE WHEN event_type = 'search' THEN 'search' ELSE 'landing' END AS kind,
         id AS action_id, {{ cast_string('NULL') }} AS conversation_id, occurred_at AS acted_at,
         0 AS is_fin_answered, 0 AS is_fin_closed, 0 AS is_human
  FROM intercom.help_center_event
  WHERE event_type IN ('landing', 'search')
  UNION ALL
  SELECT COALESCE(contact_id, anonymous_id), contact_id, 'article_view', id, {{ cast_string('NULL') }}, viewed_at, 0, 0, 0
  FROM intercom.article_view
  UNION ALL
  SELECT contact_id, contact_id, 'conversation', conversation_id, conversation_id, created_at,
         is_fin_answered, is_fin_closed, 1 - is_fin_closed
  FROM _tally_inbound
),
_tally_ordered AS (
  SELECT _tally_action.*,
         ROW_NUMBER() OVER (PARTITION BY person_key ORDER BY acted_at, kind, action_id) AS action_number,
         LAG(acted_at) OVER (PARTITION BY person_key ORDER BY acted_at, kind, action_id) AS previous_acted_at
  FROM _tally_action
  WHERE person_key IS NOT NULL
),
_tally_breaks AS (
  -- A person's first action, and any action a whole session length or more after the previous
  -- one, starts a session whatever came before (that session began at or before the previous
  -- action); the actions from one such start to the next are a segment.
  SELECT _tally_o.*,
         CASE WHEN _tally_o.previous_acted_at IS NULL
                OR _tally_o.acted_at >= {{ dateadd('hour', var('self_serve_session_hours'), '_tally_o.previous_acted_at') }}
              THEN 1 ELSE 0 END AS starts_segment
  FROM _tally_ordered AS _tally_o
),
_tally_segmented AS (
  -- Each action's segment and the segment's start (starts only grow, so a running MAX).
  SELECT _tally_b.*,
         SUM(_tally_b.starts_segment)
           OVER (PARTITION BY _tally_b.person_key ORDER BY _tally_b.action_number
                 ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS segment,
         MAX(CASE WHEN _tally_b.starts_segment = 1 THEN _tally_b.acted_at END)
           OVER (PARTITION BY _tally_b.person_key ORDER BY _tally_b.action_number
                 ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS segment_started_at
  FROM _tally_breaks AS _tally_b
),
_tally_long_segment AS (
  -- Segments with an action a session length or more after their start: only there does a
  -- session start after the segment's first action, which takes the walk. Any other segment is
  -- one session.
  SELECT DISTINCT person_key, segment
  FROM _tally_segmented
  WHERE acted_at >= {{ dateadd('hour', var('self_serve_session_hours'), 'segment_started_at') }}
),
_tally_long AS (
  SELECT _tally_s.*
  FROM _tally_segmented AS _tally_s
  JOIN _tally_long_segment AS _tally_l
    ON _tally_l.person_key = _tally_s.person_key AND _tally_l.segment = _tally_s.segment
),
_tally_walk AS (
  SELECT person_key, segment, action_number, acted_at AS session_started_at
  FROM _tally_long
  WHERE starts_segment = 1
  UNION ALL
  SELECT _tally_n.person_key, _tally_n.segment, _tally_n.action_number,
         CASE WHEN _tally_n.acted_at >= {{ dateadd('hour', var('self_serve_session_hours'), '_tally_w.session_started_at') }}
              THEN _tally_n.acted_at ELSE _tally_w.session_started_at END
  FROM _tally_walk AS _tally_w
  JOIN _tally_long AS _tally_n
    ON _tally_n.person_key = _tally_w.person_key AND _tally_n.segment = _tally_w.segment
   AND _tally_n.action_number = _tally_w.action_number + 1
)
-- The actions of the other segments are never joined to the walk (a join would build its hash
-- table on whichever side the engine estimates smaller, and a recursive CTE's estimate is large).
SELECT _tally_n.person_key, _tally_n.contact_id, _tally_n.kind, _tally_n.action_id,
       _tally_n.conversation_id, _tally_n.acted_at, _tally_n.segment_started_at AS session_started_at,
       _tally_n.is_fin_answered, _tally_n.is_fin_closed, _tally_n.is_human
FROM _tally_segmented AS _tally_n
WHERE NOT EXISTS (
  SELECT 1 FROM _tally_long_segment AS _tally_l
  WHERE _tally_l.person_key = _tally_n.person_key AND _tally_l.segment = _tally_n.segment
)
UNION ALL
SELECT _tally_n.person_key, _tally_n.contact_id, _tally_n.kind, _tally_n.action_id,
       _tally_n.conversation_id, _tally_n.acted_at, _tally_w.session_started_at,
       _tally_n.is_fin_answered, _tally_n.is_fin_closed, _tally_n.is_human
FROM _tally_long AS _tally_n
JOIN _tally_walk AS _tally_w
  ON _tally_w.person_key = _tally_n.person_key AND _tally_w.action_number = _tally_n.action_number
{%- endmacro -%}
