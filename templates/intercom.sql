{#- The Intercom project's own macros (read as a project template; tally's library is macros.sql). -#}

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
    part_id, author_id, replied_at, reply_minutes, is_first_response. -#}
{%- macro intercom_reply_times(conversation, part) -%}
SELECT
  _tally_turns.conversation_id,
  _tally_turns.part_id,
  _tally_turns.author_id,
  _tally_turns.created_at AS replied_at,
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
