//! The repository's Intercom metrics on generated data, checked against independent SQL.
//!
//! The sample generator writes 3,000 conversations (fixed seed) into an in-memory DuckDB. Every
//! metric of section 5 of the Intercom notes (docs/intercom.md) is then computed twice, by month
//! and overall:
//!
//! - by tally: the repository project compiled through `tally_core::pipeline` and run with
//!   `tally_duckdb::engine`, exactly as `tally query` does;
//! - by a straightforward SQL query written here, directly against the raw Intercom tables (not
//!   through the project's models): current rows, t0, closes, reopens, replies, abandonment and
//!   so on are re-derived from `conversation_history`, `conversation_part_history`,
//!   `conversation_contact_history`, `article_view` and `content_receipt`, following the
//!   definitions of section 5 and the settled choices (7-day reopen window, 24 hours of silence,
//!   "resolved" excludes abandoned, inbound population, wall-clock durations).
//!
//! The two must agree within 1e-9 (relative) in every month and overall. All disagreements are
//! listed at once.

use std::collections::BTreeMap;

use tally_core::diag::render_human;
use tally_core::dialect::Dialect;
use tally_core::model::Model;
use tally_core::plan::QueryRequest;
use tally_core::yaml::Spanned;
use tally_duckdb::engine::{self, Value};

#[path = "support/funnel_reference.rs"]
mod funnel_reference;

mod common;

const CONVERSATIONS: usize = 3_000;
const SEED: u64 = 20_260_101;

/// The data cut-off; the project's `as_of` variable and the generator's cut-off.
const AS_OF: &str = "TIMESTAMP '2026-06-30 23:59:59'";

/// Shared CTEs, following section 5 of the Intercom notes. `ref` has one row per inbound
/// conversation with every fact a metric needs; the other CTEs are the building blocks.
const REFERENCE: &str = r#"
WITH
-- Current version of each conversation and of each part (parts are re-emitted under every
-- later conversation version).
conv AS (
  SELECT * FROM intercom.conversation_history
  WHERE coalesce(_fivetran_active, true)
  QUALIFY row_number() OVER (PARTITION BY id ORDER BY updated_at DESC) = 1),
parts AS (
  SELECT * FROM intercom.conversation_part_history
  WHERE coalesce(_fivetran_active, true)
  QUALIFY row_number() OVER (PARTITION BY id ORDER BY conversation_updated_at DESC) = 1),
inbound AS (SELECT * FROM conv WHERE source_delivered_as = 'customer_initiated'),
closes AS (
  SELECT conversation_id, min(created_at) AS first_close_at, max(created_at) AS last_close_at
  FROM parts WHERE part_type = 'close' GROUP BY 1),
last_close AS (
  SELECT conversation_id, author_type AS last_close_author_type
  FROM parts WHERE part_type = 'close'
  QUALIFY row_number() OVER (PARTITION BY conversation_id ORDER BY created_at DESC, id DESC) = 1),
cust_msg AS (
  SELECT conversation_id, created_at FROM parts
  WHERE author_type IN ('user', 'lead') AND part_type IN ('comment', 'quick_reply')),
human_reply AS (
  SELECT conversation_id, created_at FROM parts
  WHERE author_type = 'admin'
    AND (part_type = 'comment'
         OR (body IS NOT NULL AND part_type IN ('assignment', 'assign_and_reopen', 'open', 'close')))),
bot_reply AS (
  SELECT conversation_id, created_at FROM parts
  WHERE author_type = 'bot' AND part_type IN ('comment', 'quick_reply')),
support_reply AS (
  SELECT * FROM human_reply UNION ALL SELECT * FROM bot_reply),
reopen AS (
  SELECT p.conversation_id, p.created_at
  FROM parts p JOIN closes k USING (conversation_id)
  WHERE p.created_at > k.first_close_at
    AND (p.part_type IN ('open', 'assign_and_reopen', 'note_and_reopen')
         OR (p.author_type IN ('user', 'lead') AND p.part_type IN ('comment', 'quick_reply')))),
-- The conversation's contact: the author of an inbound conversation, else the smallest contact.
contact AS (
  SELECT c.id AS conversation_id,
         coalesce(CASE WHEN c.source_delivered_as = 'customer_initiated'
                        AND c.source_author_type IN ('user', 'lead', 'contact')
                       THEN c.source_author_id END,
                  (SELECT min(h.contact_id) FROM intercom.conversation_contact_history h
                    WHERE h.conversation_id = c.id AND coalesce(h._fivetran_active, true))) AS contact_id
  FROM conv c),
inbound_start AS (
  SELECT nc.contact_id, n.id, n.created_at
  FROM inbound n JOIN contact nc ON nc.conversation_id = n.id),
c1 AS (
  SELECT
    c.id, c.created_at, c.state, c.conversation_rating_value AS rating,
    c.conversation_rating_created_at AS rated_at, c.ai_agent_participated,
    c.ai_agent_resolution_state,
    k.first_close_at, k.last_close_at, lc.last_close_author_type, ct.contact_id,
    coalesce(c.first_contact_reply_created_at,
             (SELECT min(m.created_at) FROM cust_msg m WHERE m.conversation_id = c.id),
             c.created_at) AS t0,
    -- the last support (human or bot) reply, at or before the last close when closed
    (SELECT max(s.created_at) FROM support_reply s
      WHERE s.conversation_id = c.id
        AND (c.state <> 'closed' OR s.created_at <= k.last_close_at)) AS t_s,
    -- the last customer message; the opening message (at created_at) counts
    greatest(c.created_at,
             (SELECT max(m.created_at) FROM cust_msg m WHERE m.conversation_id = c.id)) AS t_c,
    EXISTS (SELECT 1 FROM reopen r WHERE r.conversation_id = c.id
              AND r.created_at <= k.first_close_at + INTERVAL 7 DAY) AS reopened,
    EXISTS (SELECT 1 FROM human_reply h WHERE h.conversation_id = c.id) AS any_human_reply,
    EXISTS (SELECT 1 FROM bot_reply b WHERE b.conversation_id = c.id
              AND b.created_at < k.first_close_at) AS bot_reply_before_first_close
  FROM inbound c
  LEFT JOIN closes k ON k.conversation_id = c.id
  LEFT JOIN last_close lc ON lc.conversation_id = c.id
  LEFT JOIN contact ct ON ct.conversation_id = c.id),
c2 AS (
  SELECT
    c1.*,
    (SELECT min(h.created_at) FROM human_reply h
      WHERE h.conversation_id = c1.id AND h.created_at >= c1.t0) AS first_human_reply_at,
    coalesce(t_s > t_c
      AND rating IS NULL
      AND coalesce(ai_agent_resolution_state, '') NOT IN ('assumed_resolution', 'confirmed_resolution')
      AND ((state <> 'closed' AND @AS_OF - t_s >= INTERVAL 24 HOUR)
        OR (state = 'closed' AND (last_close_author_type = 'bot'
                                  OR last_close_at - t_s >= INTERVAL 24 HOUR))), false) AS abandoned,
    first_close_at IS NULL OR first_close_at + INTERVAL 7 DAY <= @AS_OF AS mature,
    coalesce(state = 'closed' OR t_s + INTERVAL 24 HOUR <= @AS_OF, false) AS eligible,
    EXISTS (SELECT 1 FROM inbound_start n
             WHERE n.contact_id = c1.contact_id AND n.id <> c1.id
               AND n.created_at > c1.last_close_at
               AND n.created_at <= c1.last_close_at + INTERVAL 7 DAY) AS repeat_contact
  FROM c1),
ref AS (
  SELECT c2.*,
    first_close_at IS NOT NULL AND NOT abandoned AND NOT reopened AS resolved
  FROM c2),
session AS (
  SELECT session_id, min(contact_id) AS contact_id, min(viewed_at) AS started_at
  FROM intercom.article_view WHERE contact_id IS NOT NULL GROUP BY 1),
mature_session AS (
  SELECT s.*,
    NOT EXISTS (SELECT 1 FROM inbound_start n WHERE n.contact_id = s.contact_id
                  AND n.created_at >= s.started_at
                  AND n.created_at <= s.started_at + INTERVAL 24 HOUR) AS self_served
  FROM session s WHERE s.started_at + INTERVAL 24 HOUR <= @AS_OF),
mature_view AS (
  SELECT v.*,
    NOT EXISTS (SELECT 1 FROM inbound_start n WHERE n.contact_id = v.contact_id
                  AND n.created_at >= v.viewed_at
                  AND n.created_at <= v.viewed_at + INTERVAL 24 HOUR) AS resolving
  FROM intercom.article_view v
  WHERE v.contact_id IS NOT NULL AND v.viewed_at + INTERVAL 24 HOUR <= @AS_OF),
-- Intercom's conversation statistics, from first_contact_reply_at (fcr): for an inbound
-- conversation, Intercom's own field or else the opening message.
stat AS (
  SELECT c.id, c.created_at, c.state, c.source_body,
         c.conversation_rating_value AS rating, c.conversation_rating_created_at AS rated_at,
         coalesce(c.first_contact_reply_created_at, c.created_at) AS fcr
  FROM inbound c),
teammate_part AS (
  SELECT * FROM parts
  WHERE author_type = 'admin'
    AND (part_type = 'comment'
         OR (body IS NOT NULL AND part_type IN ('assignment', 'assign_and_reopen', 'open', 'close')))),
stat_ref AS (
  SELECT s.*,
    (SELECT min(p.created_at) FROM parts p WHERE p.conversation_id = s.id AND p.created_at >= s.fcr
        AND p.part_type IN ('assignment', 'default_assignment', 'away_mode_assignment',
                            'assign_and_reopen', 'assign_and_unsnooze')) AS first_assignment_at,
    (SELECT min(h.created_at) FROM teammate_part h WHERE h.conversation_id = s.id AND h.created_at > s.fcr) AS first_admin_reply_at,
    (SELECT max(h.created_at) FROM teammate_part h WHERE h.conversation_id = s.id AND h.created_at > s.fcr) AS last_admin_reply_at,
    (SELECT min(p.created_at) FROM parts p WHERE p.conversation_id = s.id AND p.part_type = 'close' AND p.created_at > s.fcr) AS first_close_at,
    (SELECT max(p.created_at) FROM parts p WHERE p.conversation_id = s.id AND p.part_type = 'close' AND p.created_at > s.fcr) AS last_close_at,
    (SELECT max(p.created_at) FROM parts p WHERE p.conversation_id = s.id AND p.part_type = 'close'
        AND p.author_type = 'admin' AND p.created_at > s.fcr) AS last_human_close_at,
    -- CSAT attribution: the author of the last teammate message.
    (SELECT h.author_id FROM teammate_part h WHERE h.conversation_id = s.id
      ORDER BY h.created_at DESC, h.id DESC LIMIT 1) AS last_teammate_id,
    EXISTS (SELECT 1 FROM teammate_part h WHERE h.conversation_id = s.id) AS teammate_replied,
    length(coalesce(s.source_body, ''))
      + (SELECT coalesce(sum(length(p.body)), 0) FROM parts p WHERE p.conversation_id = s.id
           AND ((p.author_type IN ('user', 'lead') AND p.part_type IN ('comment', 'quick_reply'))
                OR p.id IN (SELECT h.id FROM teammate_part h))) AS text_len,
    greatest(s.created_at,
             (SELECT max(p.created_at) FROM parts p WHERE p.conversation_id = s.id
                AND ((p.author_type IN ('user', 'lead') AND p.part_type IN ('comment', 'quick_reply'))
                     OR p.id IN (SELECT h.id FROM teammate_part h)))) AS last_message_at,
    (SELECT count(DISTINCT h.contact_id) FROM intercom.conversation_contact_history h
      WHERE h.conversation_id = s.id AND coalesce(h._fivetran_active, true)) AS contacts
  FROM stat s),
csat_ref AS (
  SELECT r.*,
    teammate_replied AND text_len > 250 AND state = 'closed'
      AND last_close_at <= last_message_at + INTERVAL 7 DAY AND contacts <= 1 AS eligible
  FROM stat_ref r),
-- Reply times: each teammate message answers the customer messages (the opening one included)
-- since the previous teammate message, timed from the first of them.
customer_message AS (
  SELECT conversation_id, created_at FROM cust_msg
  UNION ALL SELECT id, created_at FROM inbound),
teammate_turn AS (
  SELECT h.conversation_id, h.id, h.created_at,
         lag(h.created_at) OVER (PARTITION BY h.conversation_id ORDER BY h.created_at, h.id) AS previous_at
  FROM teammate_part h WHERE h.conversation_id IN (SELECT id FROM inbound)),
reply_ref AS (
  SELECT t.conversation_id, t.id, t.created_at AS replied_at,
         (epoch(t.created_at) - epoch(min(m.created_at))) / 60.0 AS minutes
  FROM teammate_turn t
  JOIN customer_message m ON m.conversation_id = t.conversation_id
   AND m.created_at <= t.created_at AND (t.previous_at IS NULL OR m.created_at > t.previous_at)
  GROUP BY t.conversation_id, t.id, t.created_at),
conversation_reply_ref AS (
  SELECT r.conversation_id, quantile_cont(r.minutes, 0.5) AS median_minutes,
         (SELECT s.last_admin_reply_at FROM stat_ref s WHERE s.id = r.conversation_id) AS last_admin_reply_at
  FROM reply_ref r GROUP BY r.conversation_id),
-- Tags now: the links of the conversation's current version (its updated_at), deleted tags left out.
tag_ref AS (
  SELECT r.*, t.name AS tag_name
  FROM ref r
  JOIN conv c ON c.id = r.id
  JOIN intercom.conversation_tag_history l
    ON l.conversation_id = c.id AND l.conversation_updated_at = c.updated_at AND l._fivetran_active
  JOIN intercom.tag t ON t.id = l.tag_id AND NOT t._fivetran_deleted)
"#;

/// One metric and its independent definition: `value` aggregated over `source` (a CTE of
/// [`REFERENCE`], materialised in schema `reference`, with a WHERE clause), attributed to the
/// month of `time`.
struct Case {
    metric: &'static str,
    time: &'static str,
    source: &'static str,
    value: String,
    /// A count: a month the query does not return stands for 0.
    count: bool,
    /// Compared by month only (an offset metric has no value without a time grain).
    monthly_only: bool,
}

fn ratio(num: &str, den: &str) -> String {
    format!("CAST({num} AS DOUBLE) / NULLIF({den}, 0)")
}

fn count(
    metric: &'static str,
    time: &'static str,
    source: &'static str,
    value: impl Into<String>,
) -> Case {
    Case {
        metric,
        time,
        source,
        value: value.into(),
        count: true,
        monthly_only: false,
    }
}

fn value(
    metric: &'static str,
    time: &'static str,
    source: &'static str,
    value: impl Into<String>,
) -> Case {
    Case {
        metric,
        time,
        source,
        value: value.into(),
        count: false,
        monthly_only: false,
    }
}

/// A metric one month later: `case` attributed to the month after its own (an offset metric).
fn next_month(metric: &'static str, case: Case) -> Case {
    let time: &'static str =
        Box::leak(format!("({} + INTERVAL 1 MONTH)", case.time).into_boxed_str());
    Case {
        metric,
        time,
        monthly_only: true,
        ..case
    }
}

/// Conversations with human support in a support session and their path (independent funnel).
const HUMAN_SERVED: &str =
    "reference.ref r JOIN reference.funnel_conversation f ON f.conversation_id = r.id";

/// Issue #20's Conversational Support funnel, over the sessions walked in `funnel_reference`.
fn funnel_cases() -> Vec<Case> {
    let r = ratio;
    let volume = || {
        count(
            "human_served_conversations",
            "created_at",
            HUMAN_SERVED,
            "count(*)",
        )
    };
    let csat = || {
        value(
            "human_served_csat",
            "rated_at",
            HUMAN_SERVED_RATED,
            r("count(*) FILTER (WHERE rating IN (4, 5))", "count(*)"),
        )
    };
    let frt = || {
        value(
            "human_served_first_response_time_median",
            "first_human_reply_at",
            HUMAN_SERVED_REPLIED,
            "quantile_cont((epoch(first_human_reply_at) - epoch(t0)) / 60.0, 0.5)",
        )
    };
    let close = || {
        value(
            "human_served_time_to_close_median",
            "last_close_at",
            HUMAN_SERVED_CLOSED,
            "quantile_cont((epoch(last_close_at) - epoch(fcr)) / 60.0, 0.5)",
        )
    };
    const HUMAN_SERVED_RATED: &str = "reference.ref r JOIN reference.funnel_conversation f ON f.conversation_id = r.id WHERE r.rating IS NOT NULL";
    const HUMAN_SERVED_REPLIED: &str = "reference.ref r JOIN reference.funnel_conversation f ON f.conversation_id = r.id WHERE r.first_human_reply_at IS NOT NULL";
    const HUMAN_SERVED_CLOSED: &str = "reference.stat_ref s JOIN reference.funnel_conversation f ON f.conversation_id = s.id WHERE s.state = 'closed' AND s.last_close_at IS NOT NULL";
    const MATURE: &str = "reference.funnel_session WHERE mature";
    vec![
        count("support_sessions", "started_at", MATURE, "count(*)"),
        count(
            "sessions_stopped_seeking",
            "started_at",
            MATURE,
            "count(*) FILTER (WHERE outcome = 'stopped_seeking')",
        ),
        count(
            "sessions_resolved_self_serve",
            "started_at",
            MATURE,
            "count(*) FILTER (WHERE outcome = 'self_serve_resolved')",
        ),
        count(
            "sessions_human_from_start",
            "started_at",
            MATURE,
            "count(*) FILTER (WHERE outcome = 'human_from_start')",
        ),
        count(
            "sessions_human_after_self_serve",
            "started_at",
            MATURE,
            "count(*) FILTER (WHERE outcome = 'human_after_self_serve')",
        ),
        count(
            "resolved_support_sessions",
            "started_at",
            MATURE,
            "count(*) FILTER (WHERE outcome <> 'stopped_seeking')",
        ),
        count(
            "people_seeking_support",
            "started_at",
            "reference.funnel_session",
            "count(DISTINCT person)",
        ),
        value(
            "funnel_self_serve_resolution_rate",
            "started_at",
            MATURE,
            r(
                "count(*) FILTER (WHERE outcome = 'self_serve_resolved')",
                "count(*) FILTER (WHERE outcome <> 'stopped_seeking')",
            ),
        ),
        count("session_article_views", "started_at", MATURE, "sum(views)"),
        count(
            "unfollowed_article_views",
            "started_at",
            MATURE,
            "sum(unfollowed_views)",
        ),
        value(
            "funnel_articles_resolution_rate",
            "started_at",
            MATURE,
            r("sum(unfollowed_views)", "sum(views)"),
        ),
        count(
            "fin_answered_sessions",
            "started_at",
            MATURE,
            "count(*) FILTER (WHERE fin_answered)",
        ),
        count(
            "fin_closed_conversations",
            "started_at",
            MATURE,
            "sum(fin_closed)",
        ),
        value(
            "funnel_automated_resolution_rate",
            "started_at",
            MATURE,
            r("sum(fin_closed)", "count(*) FILTER (WHERE fin_answered)"),
        ),
        count(
            "proactive_messages_reacted",
            "received_at",
            "intercom.content_receipt",
            "count(*) FILTER (WHERE first_hard_bounce IS NULL AND first_reaction IS NOT NULL)",
        ),
        volume(),
        csat(),
        frt(),
        close(),
        next_month("human_served_conversations_previous_period", volume()),
        next_month("human_served_csat_previous_period", csat()),
        next_month(
            "human_served_first_response_time_median_previous_period",
            frt(),
        ),
        next_month("human_served_time_to_close_median_previous_period", close()),
    ]
}

fn cases() -> Vec<Case> {
    let r = ratio;
    vec![
        // 1. Volume: inbound conversations by creation month.
        count("conversation_volume", "created_at", "reference.ref", "count(*)"),
        // 2. Resolution rate (7-day reopen window), over mature conversations.
        value("resolution_rate", "created_at", "reference.ref WHERE mature", r("count(*) FILTER (WHERE resolved)", "count(*)")),
        count("resolved_conversations", "created_at", "reference.ref WHERE mature", "count(*) FILTER (WHERE resolved)"),
        count("mature_conversations", "created_at", "reference.ref WHERE mature", "count(*)"),
        // 3. Reopen rate: of the mature conversations closed at least once.
        value("reopen_rate", "created_at", "reference.ref WHERE mature AND first_close_at IS NOT NULL", r("count(*) FILTER (WHERE reopened)", "count(*)")),
        // 4. Resolution time, hours from t0 to the last close, closed and not abandoned.
        value("resolution_time_average", "last_close_at", "reference.ref WHERE state = 'closed' AND NOT abandoned",
              "avg(epoch(last_close_at) - epoch(t0)) / 3600.0"),
        value("resolution_time_median", "last_close_at", "reference.ref WHERE state = 'closed' AND NOT abandoned",
              "quantile_cont((epoch(last_close_at) - epoch(t0)) / 3600.0, 0.5)"),
        // 5. CSAT and the average rating, by rating month, current rating.
        value("csat", "rated_at", "reference.ref WHERE rating IS NOT NULL", r("count(*) FILTER (WHERE rating IN (4, 5))", "count(*)")),
        value("average_rating", "rated_at", "reference.ref WHERE rating IS NOT NULL", "avg(rating)"),
        // 6. Repeat contact rate (7 days after the last close), by last-close month.
        value("repeat_contact_rate", "last_close_at", "reference.ref WHERE state = 'closed'", r("count(*) FILTER (WHERE repeat_contact)", "count(*)")),
        value("repeat_contact_customer_rate", "last_close_at", "reference.ref WHERE state = 'closed'",
              r("count(DISTINCT CASE WHEN repeat_contact THEN contact_id END)", "count(DISTINCT contact_id)")),
        // 7. Abandonment rate, over eligible conversations.
        value("abandonment_rate", "created_at", "reference.ref WHERE eligible", r("count(*) FILTER (WHERE abandoned)", "count(*)")),
        // 8. First response time (minutes from t0 to the first human reply at or after t0).
        value("first_response_time_average", "first_human_reply_at", "reference.ref WHERE first_human_reply_at IS NOT NULL",
              "avg(epoch(first_human_reply_at) - epoch(t0)) / 60.0"),
        value("first_response_time_median", "first_human_reply_at", "reference.ref WHERE first_human_reply_at IS NOT NULL",
              "quantile_cont((epoch(first_human_reply_at) - epoch(t0)) / 60.0, 0.5)"),
        value("first_response_time_p90", "first_human_reply_at", "reference.ref WHERE first_human_reply_at IS NOT NULL",
              "quantile_cont((epoch(first_human_reply_at) - epoch(t0)) / 60.0, 0.9)"),
        // 9. Self-serve resolution rate (24-hour sessions) and article resolution rate.
        value("self_serve_resolution_rate", "started_at", "reference.mature_session", r("count(*) FILTER (WHERE self_served)", "count(*)")),
        value("article_resolution_rate", "viewed_at", "reference.mature_view", r("count(*) FILTER (WHERE resolving)", "count(*)")),
        count("article_views", "viewed_at", "intercom.article_view", "count(*)"),
        // 10. Automated resolution rate: resolved, no human reply, a bot reply before the first close.
        value("automated_resolution_rate", "created_at", "reference.ref WHERE mature",
              r("count(*) FILTER (WHERE resolved AND NOT any_human_reply AND bot_reply_before_first_close)", "count(*)")),
        value("fin_automated_resolution_rate", "created_at", "reference.ref WHERE mature AND coalesce(ai_agent_participated, false)",
              r("count(*) FILTER (WHERE resolved AND NOT any_human_reply AND bot_reply_before_first_close)", "count(*)")),
        // The north star: resolved and not followed by a repeat contact, over mature conversations.
        value("resolved_without_repeat_contact_rate", "created_at", "reference.ref WHERE mature",
              r("count(*) FILTER (WHERE resolved AND NOT repeat_contact)", "count(*)")),
        // 11. Proactive messages: delivered (not hard-bounced), open and click rates.
        count("proactive_messages_delivered", "received_at", "intercom.content_receipt", "count(*) FILTER (WHERE first_hard_bounce IS NULL)"),
        value("proactive_open_rate", "received_at", "intercom.content_receipt",
              r("count(*) FILTER (WHERE first_hard_bounce IS NULL AND first_open IS NOT NULL)", "count(*) FILTER (WHERE first_hard_bounce IS NULL)")),
        value("proactive_click_rate", "received_at", "intercom.content_receipt",
              r("count(*) FILTER (WHERE first_hard_bounce IS NULL AND first_click IS NOT NULL)", "count(*) FILTER (WHERE first_hard_bounce IS NULL)")),
        // 12. Conversation statistics (wall clock, minutes from first_contact_reply_at).
        count("new_inbound_conversations", "created_at", "reference.stat_ref", "count(*)"),
        value("time_to_assignment_average", "first_assignment_at", "reference.stat_ref WHERE first_assignment_at IS NOT NULL",
              "avg(epoch(first_assignment_at) - epoch(fcr)) / 60.0"),
        value("time_to_assignment_median", "first_assignment_at", "reference.stat_ref WHERE first_assignment_at IS NOT NULL",
              "quantile_cont((epoch(first_assignment_at) - epoch(fcr)) / 60.0, 0.5)"),
        value("time_to_admin_reply_average", "first_admin_reply_at", "reference.stat_ref WHERE first_admin_reply_at IS NOT NULL",
              "avg(epoch(first_admin_reply_at) - epoch(fcr)) / 60.0"),
        value("time_to_admin_reply_median", "first_admin_reply_at", "reference.stat_ref WHERE first_admin_reply_at IS NOT NULL",
              "quantile_cont((epoch(first_admin_reply_at) - epoch(fcr)) / 60.0, 0.5)"),
        value("time_to_first_close_average", "first_close_at", "reference.stat_ref WHERE first_close_at IS NOT NULL",
              "avg(epoch(first_close_at) - epoch(fcr)) / 60.0"),
        value("time_to_first_close_median", "first_close_at", "reference.stat_ref WHERE first_close_at IS NOT NULL",
              "quantile_cont((epoch(first_close_at) - epoch(fcr)) / 60.0, 0.5)"),
        value("time_to_last_close_average", "last_close_at", "reference.stat_ref WHERE state = 'closed' AND last_close_at IS NOT NULL",
              "avg(epoch(last_close_at) - epoch(fcr)) / 60.0"),
        value("time_to_last_close_median", "last_close_at", "reference.stat_ref WHERE state = 'closed' AND last_close_at IS NOT NULL",
              "quantile_cont((epoch(last_close_at) - epoch(fcr)) / 60.0, 0.5)"),
        value("time_to_last_human_close_average", "last_human_close_at", "reference.stat_ref WHERE state = 'closed' AND last_human_close_at IS NOT NULL",
              "avg(epoch(last_human_close_at) - epoch(fcr)) / 60.0"),
        value("time_to_last_human_close_median", "last_human_close_at", "reference.stat_ref WHERE state = 'closed' AND last_human_close_at IS NOT NULL",
              "quantile_cont((epoch(last_human_close_at) - epoch(fcr)) / 60.0, 0.5)"),
        value("reply_time_average", "replied_at", "reference.reply_ref", "avg(minutes)"),
        value("reply_time_median", "replied_at", "reference.reply_ref", "quantile_cont(minutes, 0.5)"),
        value("conversation_median_reply_time_median", "last_admin_reply_at", "reference.conversation_reply_ref",
              "quantile_cont(median_minutes, 0.5)"),
        // 13. CSAT as Intercom attributes it: rating-request eligibility (72-hour window) and the
        // last teammate to send a message.
        count("rating_eligible_conversations", "last_close_at", "reference.csat_ref WHERE eligible", "count(*)"),
        count("rated_eligible_conversations", "last_close_at", "reference.csat_ref WHERE eligible",
              "count(*) FILTER (WHERE rating IS NOT NULL AND rated_at <= last_close_at + INTERVAL 72 HOUR)"),
        value("rating_response_rate", "last_close_at", "reference.csat_ref WHERE eligible",
              r("count(*) FILTER (WHERE rating IS NOT NULL AND rated_at <= last_close_at + INTERVAL 72 HOUR)", "count(*)")),
        count("teammate_rated_conversations", "rated_at", "reference.csat_ref WHERE rating IS NOT NULL AND last_teammate_id IS NOT NULL", "count(*)"),
        count("teammate_positive_ratings", "rated_at", "reference.csat_ref WHERE rating IS NOT NULL AND last_teammate_id IS NOT NULL",
              "count(*) FILTER (WHERE rating IN (4, 5))"),
        value("teammate_csat", "rated_at", "reference.csat_ref WHERE rating IS NOT NULL AND last_teammate_id IS NOT NULL",
              r("count(*) FILTER (WHERE rating IN (4, 5))", "count(*)")),
        // 14. Tags: distinct inbound conversations carrying a tag now, and their resolution rate.
        count("tagged_conversations", "created_at", "reference.tag_ref", "count(DISTINCT id)"),
        count("tagged_mature_conversations", "created_at", "reference.tag_ref WHERE mature", "count(DISTINCT id)"),
        count("tagged_resolved_conversations", "created_at", "reference.tag_ref WHERE mature AND resolved", "count(DISTINCT id)"),
        value("tag_resolution_rate", "created_at", "reference.tag_ref WHERE mature",
              r("count(DISTINCT id) FILTER (WHERE resolved)", "count(DISTINCT id)")),
    ]
}

fn load_project() -> Model {
    common::load_valid(&common::repository())
}

fn tally_sql(model: &Model, metric: &str, by_month: bool) -> String {
    let req = QueryRequest {
        metrics: vec![Spanned::synthetic(metric.to_string())],
        group_by: if by_month {
            vec![Spanned::synthetic("metric_time__month".to_string())]
        } else {
            Vec::new()
        },
        ..QueryRequest::default()
    };
    match tally_core::pipeline::compile(model, Dialect::DuckDb, &req) {
        Ok(c) => c.sql,
        Err(d) => panic!(
            "{metric} does not compile:\n{}",
            render_human(&model.sources, &d, false)
        ),
    }
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Null => None,
        Value::Int(i) => Some(*i as f64),
        Value::Float(x) => Some(*x),
        other => panic!("not a number: {other:?}"),
    }
}

fn month(v: &Value) -> String {
    match v {
        Value::Time(s) | Value::Text(s) => s.chars().take(10).collect(),
        other => panic!("not a month: {other:?}"),
    }
}

/// Rows of (month or "overall", value) from a query whose last column is the value.
fn collect(conn: &duckdb::Connection, sql: &str, by_month: bool) -> BTreeMap<String, Option<f64>> {
    let t = engine::run(conn, sql).unwrap_or_else(|e| panic!("{e}\n{sql}"));
    t.rows
        .iter()
        .map(|r| {
            let key = if by_month {
                month(&r[0])
            } else {
                "overall".to_string()
            };
            (key, number(r.last().expect("a value column")))
        })
        .collect()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

#[test]
fn intercom_metrics_match_independent_sql_on_generated_data() {
    let conn = engine::open(None).expect("in-memory DuckDB");
    common::generate(&conn, CONVERSATIONS, SEED);
    let model = load_project();
    // The reference tables are computed once, in schema `reference` next to the raw tables.
    let reference = REFERENCE.replace("@AS_OF", AS_OF);
    conn.execute_batch("CREATE SCHEMA reference")
        .expect("create schema reference");
    for table in [
        "ref",
        "mature_session",
        "mature_view",
        "stat_ref",
        "csat_ref",
        "reply_ref",
        "conversation_reply_ref",
        "tag_ref",
    ] {
        conn.execute_batch(&format!(
            "CREATE TABLE reference.{table} AS {reference} SELECT * FROM {table}"
        ))
        .unwrap_or_else(|e| panic!("reference table {table}: {e}"));
    }
    // 2026-06-30 23:59:59 UTC in epoch seconds.
    funnel_reference::build(&conn, 1_782_863_999);

    let mut problems = Vec::new();
    let mut compared = 0usize;
    for case in cases().into_iter().chain(funnel_cases()) {
        for by_month in [true, false] {
            if case.monthly_only && !by_month {
                continue;
            }
            let ours = if by_month {
                format!(
                    "SELECT date_trunc('month', {}) AS m, {} AS v FROM {} GROUP BY 1",
                    case.time, case.value, case.source
                )
            } else {
                format!("SELECT {} AS v FROM {}", case.value, case.source)
            };
            let expected = collect(&conn, &ours, by_month);
            let actual = collect(&conn, &tally_sql(&model, case.metric, by_month), by_month);
            let keys: std::collections::BTreeSet<&String> =
                expected.keys().chain(actual.keys()).collect();
            // Make sure each metric is really exercised: a value in at least three months.
            if by_month {
                let non_zero = expected
                    .values()
                    .filter(|v| v.is_some_and(|x| x != 0.0))
                    .count();
                if non_zero < 3 {
                    problems.push(format!(
                        "{}: the generated data exercises it in only {non_zero} month(s)",
                        case.metric
                    ));
                }
            }
            for k in keys {
                let norm = |v: Option<&Option<f64>>| -> Option<f64> {
                    match v.copied().flatten() {
                        None if case.count => Some(0.0),
                        x => x,
                    }
                };
                let (e, a) = (norm(expected.get(k)), norm(actual.get(k)));
                compared += 1;
                let ok = match (e, a) {
                    (None, None) => true,
                    (Some(e), Some(a)) => close(e, a),
                    _ => false,
                };
                if !ok {
                    problems.push(format!(
                        "{} {k}: independent SQL {e:?}, tally {a:?}",
                        case.metric
                    ));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} disagreement(s) out of {compared} values:\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert!(compared > 100, "only {compared} values compared");
}
