//! The Conversational Support funnel recomputed independently of the project's models: the
//! support-seeking actions are read from the raw tables, the 24-hour sessions are walked here in
//! Rust (a session starts at a person's first action; the first action at or after its end
//! starts the next), each session's outcome is decided from the definitions of issue #20, and
//! the results are written to `reference.funnel_session` and `reference.funnel_conversation`.

use duckdb::Connection;

/// The actions, in each person's time order. Conversations: inbound (customer-initiated) ones,
/// current version, by the conversation's contact (its author, else the smallest contact id);
/// `fin_closed` = Fin's resolution and no teammate reply ever; the rest are with human support.
const ACTIONS: &str = r#"
WITH conv AS (
  SELECT * FROM intercom.conversation_history
  WHERE coalesce(_fivetran_active, true)
  QUALIFY row_number() OVER (PARTITION BY id ORDER BY updated_at DESC) = 1),
parts AS (
  SELECT * FROM intercom.conversation_part_history
  WHERE coalesce(_fivetran_active, true)
  QUALIFY row_number() OVER (PARTITION BY id ORDER BY conversation_updated_at DESC) = 1),
teammate AS (
  SELECT DISTINCT conversation_id FROM parts
  WHERE author_type = 'admin'
    AND (part_type = 'comment'
         OR (body IS NOT NULL AND part_type IN ('assignment', 'assign_and_reopen', 'open', 'close')))),
conversation AS (
  SELECT c.id,
         coalesce(CASE WHEN c.source_author_type IN ('user', 'lead', 'contact') THEN c.source_author_id END,
                  (SELECT min(h.contact_id) FROM intercom.conversation_contact_history h
                    WHERE h.conversation_id = c.id AND coalesce(h._fivetran_active, true))) AS contact_id,
         c.created_at,
         coalesce(c.ai_agent_participated, false) AS fin_answered,
         coalesce(c.ai_agent_resolution_state IN ('assumed_resolution', 'confirmed_resolution'), false)
           AND c.id NOT IN (SELECT conversation_id FROM teammate) AS fin_closed
  FROM conv c WHERE c.source_delivered_as = 'customer_initiated')
SELECT person, contact_id, kind, epoch(t)::BIGINT AS t, fin_answered, fin_closed, conversation_id
FROM (
  SELECT coalesce(contact_id, anonymous_id) AS person, contact_id, event_type AS kind, occurred_at AS t,
         false AS fin_answered, false AS fin_closed, NULL AS conversation_id
  FROM intercom.help_center_event WHERE event_type IN ('landing', 'search')
  UNION ALL
  SELECT coalesce(contact_id, anonymous_id), contact_id, 'view', viewed_at, false, false, NULL
  FROM intercom.article_view
  UNION ALL
  SELECT contact_id, contact_id, 'conversation', created_at, fin_answered, fin_closed, id
  FROM conversation WHERE contact_id IS NOT NULL)
WHERE person IS NOT NULL
ORDER BY person, t
"#;

struct Action {
    person: String,
    contact: Option<String>,
    kind: String,
    t: i64,
    fin_answered: bool,
    fin_closed: bool,
    conversation: Option<String>,
}

const SESSION_SECONDS: i64 = 24 * 3600;

/// Build `reference.funnel_session` (one row per session) and `reference.funnel_conversation`
/// (one row per conversation with human support, with its session's path). `as_of` is the data
/// cut-off in epoch seconds.
pub(crate) fn build(conn: &Connection, as_of: i64) {
    let mut stmt = conn.prepare(ACTIONS).expect("prepare the funnel actions");
    let actions: Vec<Action> = stmt
        .query_map([], |r| {
            Ok(Action {
                person: r.get(0)?,
                contact: r.get(1)?,
                kind: r.get(2)?,
                t: r.get(3)?,
                fin_answered: r.get(4)?,
                fin_closed: r.get(5)?,
                conversation: r.get(6)?,
            })
        })
        .expect("read the funnel actions")
        .map(|r| r.expect("a funnel action"))
        .collect();
    conn.execute_batch(
        "CREATE TABLE reference.funnel_session_raw (person VARCHAR, contact_id VARCHAR, started BIGINT,
           outcome VARCHAR, views BIGINT, unfollowed_views BIGINT, fin_answered BOOLEAN,
           fin_closed BIGINT, mature BOOLEAN);
         CREATE TABLE reference.funnel_conversation (conversation_id VARCHAR, path VARCHAR);",
    )
    .expect("create the funnel reference tables");
    let mut sessions = conn
        .appender_to_db("funnel_session_raw", "reference")
        .expect("appender");
    let mut conversations = conn
        .appender_to_db("funnel_conversation", "reference")
        .expect("appender");
    // Sessions: consecutive runs of one person's actions, each starting at its first action and
    // lasting 24 hours.
    let mut i = 0;
    while i < actions.len() {
        let start = actions[i].t;
        let mut j = i;
        while j < actions.len()
            && actions[j].person == actions[i].person
            && actions[j].t < start + SESSION_SECONDS
        {
            j += 1;
        }
        let s = &actions[i..j];
        let is_conv = |a: &Action| a.kind == "conversation";
        let human = |a: &Action| is_conv(a) && !a.fin_closed;
        let first_human = s.iter().filter(|a| human(a)).map(|a| a.t).min();
        let last_conversation = s.iter().filter(|a| is_conv(a)).map(|a| a.t).max();
        let views = s.iter().filter(|a| a.kind == "view").count() as i64;
        let unfollowed = s
            .iter()
            .filter(|a| a.kind == "view" && last_conversation.is_none_or(|c| a.t > c))
            .count() as i64;
        let fin_answered = s.iter().any(|a| is_conv(a) && a.fin_answered);
        let outcome = match first_human {
            Some(h) => {
                let tried = s.iter().any(|a| {
                    ((a.kind == "view" || a.kind == "search") && a.t < h)
                        || (is_conv(a) && a.fin_answered && a.t <= h)
                });
                if tried {
                    "human_after_self_serve"
                } else {
                    "human_from_start"
                }
            }
            None if views > 0 || fin_answered => "self_serve_resolved",
            None => "stopped_seeking",
        };
        let contact = s.iter().filter_map(|a| a.contact.clone()).min();
        sessions
            .append_row(duckdb::params![
                s[0].person,
                contact,
                start,
                outcome,
                views,
                unfollowed,
                fin_answered,
                s.iter().filter(|a| is_conv(a) && a.fin_closed).count() as i64,
                start + SESSION_SECONDS <= as_of,
            ])
            .expect("append a session");
        for a in s.iter().filter(|a| human(a)) {
            conversations
                .append_row(duckdb::params![a.conversation, outcome])
                .expect("append a conversation");
        }
        i = j;
    }
    sessions.flush().expect("flush");
    conversations.flush().expect("flush");
    drop((sessions, conversations));
    conn.execute_batch(
        "CREATE TABLE reference.funnel_session AS
           SELECT * EXCLUDE (started), make_timestamp(started * 1000000) AS started_at
           FROM reference.funnel_session_raw",
    )
    .expect("create reference.funnel_session");
}
