//! Properties of the generated data set (1,000 conversations into an in-memory DuckDB).

use super::*;

fn gen_into(conn: &Connection, conversations: usize, seed: u64, schema: &str) -> SampleSummary {
    let opts = SampleOptions {
        conversations,
        seed,
        schema: schema.into(),
        progress: false,
    };
    generate_intercom(conn, &opts).unwrap()
}

fn gen(seed: u64) -> (Connection, SampleSummary) {
    let conn = Connection::open_in_memory().unwrap();
    let summary = gen_into(&conn, 1_000, seed, "intercom");
    (conn, summary)
}

fn count(conn: &Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get::<_, i64>(0))
        .unwrap_or_else(|e| panic!("{e}\n{sql}"))
}

fn float(conn: &Connection, sql: &str) -> f64 {
    conn.query_row(sql, [], |r| r.get::<_, f64>(0))
        .unwrap_or_else(|e| panic!("{e}\n{sql}"))
}

/// The current version of each conversation and part, as `intercom.md` §5 reads them.
const CURRENT: &str = "
WITH conv AS (SELECT * FROM intercom.conversation_history WHERE coalesce(_fivetran_active, true)
              QUALIFY row_number() OVER (PARTITION BY id ORDER BY updated_at DESC) = 1),
parts AS (SELECT * FROM intercom.conversation_part_history WHERE coalesce(_fivetran_active, true)
          QUALIFY row_number() OVER (PARTITION BY id ORDER BY conversation_updated_at DESC) = 1),
closes AS (SELECT conversation_id, min(created_at) first_close_at, max(created_at) last_close_at
           FROM parts WHERE part_type = 'close' GROUP BY 1),
cust_msg AS (SELECT conversation_id, created_at FROM parts
             WHERE author_type IN ('user','lead') AND part_type IN ('comment','quick_reply')),
human_reply AS (SELECT conversation_id, created_at FROM parts
                WHERE author_type = 'admin' AND (part_type = 'comment' OR
                      (body IS NOT NULL AND part_type IN ('assignment','assign_and_reopen','open','close')))),
bot_reply AS (SELECT conversation_id, created_at FROM parts
              WHERE author_type = 'bot' AND part_type IN ('comment','quick_reply')),
reopen AS (SELECT p.conversation_id, p.created_at FROM parts p JOIN closes k USING (conversation_id)
           WHERE p.created_at > k.first_close_at
             AND (p.part_type IN ('open','assign_and_reopen','note_and_reopen')
                  OR (p.author_type IN ('user','lead') AND p.part_type IN ('comment','quick_reply'))))
";

fn current(conn: &Connection, tail: &str) -> i64 {
    count(conn, &format!("{CURRENT} {tail}"))
}

const SPEC: [(&str, &str); 13] = [
    (
        "conversation_history",
        "id VARCHAR, updated_at TIMESTAMP, created_at TIMESTAMP, state VARCHAR, open BOOLEAN, read BOOLEAN, \
         priority VARCHAR, title VARCHAR, waiting_since TIMESTAMP, snoozed_until TIMESTAMP, assignee_id VARCHAR, \
         team_assignee_id VARCHAR, source_id VARCHAR, source_type VARCHAR, source_delivered_as VARCHAR, \
         source_author_id VARCHAR, source_author_type VARCHAR, source_subject VARCHAR, source_body VARCHAR, \
         first_contact_reply_created_at TIMESTAMP, first_contact_reply_type VARCHAR, \
         conversation_rating_value INTEGER, conversation_rating_remark VARCHAR, \
         conversation_rating_created_at TIMESTAMP, conversation_rating_contact_id VARCHAR, \
         conversation_rating_teammate_id VARCHAR, statistics_first_contact_reply_at TIMESTAMP, \
         statistics_first_admin_reply_at TIMESTAMP, statistics_first_close_at TIMESTAMP, \
         statistics_last_close_at TIMESTAMP, statistics_time_to_admin_reply BIGINT, \
         statistics_time_to_first_close BIGINT, statistics_time_to_last_close BIGINT, statistics_count_reopens INTEGER, \
         statistics_last_closed_by_id VARCHAR, ai_agent_participated BOOLEAN, ai_agent_resolution_state VARCHAR, \
         _fivetran_start TIMESTAMP, _fivetran_end TIMESTAMP, _fivetran_active BOOLEAN, _fivetran_synced TIMESTAMP",
    ),
    (
        "conversation_part_history",
        "id VARCHAR, conversation_id VARCHAR, conversation_updated_at TIMESTAMP, part_type VARCHAR, body VARCHAR, \
         author_id VARCHAR, author_type VARCHAR, assigned_to_id VARCHAR, assigned_to_type VARCHAR, \
         created_at TIMESTAMP, updated_at TIMESTAMP, notified_at TIMESTAMP, _fivetran_start TIMESTAMP, \
         _fivetran_end TIMESTAMP, _fivetran_active BOOLEAN, _fivetran_synced TIMESTAMP",
    ),
    (
        "conversation_contact_history",
        "conversation_id VARCHAR, contact_id VARCHAR, conversation_updated_at TIMESTAMP, _fivetran_start TIMESTAMP, \
         _fivetran_end TIMESTAMP, _fivetran_active BOOLEAN, _fivetran_synced TIMESTAMP",
    ),
    (
        "contact_history",
        "id VARCHAR, updated_at TIMESTAMP, created_at TIMESTAMP, role VARCHAR, email VARCHAR, name VARCHAR, \
         external_id VARCHAR, signed_up_at TIMESTAMP, last_seen_at TIMESTAMP, last_replied_at TIMESTAMP, \
         unsubscribed_from_emails BOOLEAN, _fivetran_start TIMESTAMP, _fivetran_end TIMESTAMP, \
         _fivetran_active BOOLEAN, _fivetran_synced TIMESTAMP",
    ),
    (
        "admin",
        "id VARCHAR, name VARCHAR, email VARCHAR, job_title VARCHAR, _fivetran_deleted BOOLEAN, _fivetran_synced TIMESTAMP",
    ),
    ("team", "id VARCHAR, name VARCHAR, _fivetran_deleted BOOLEAN, _fivetran_synced TIMESTAMP"),
    (
        "article_history",
        "id VARCHAR, title VARCHAR, state VARCHAR, collection_id VARCHAR, author_id VARCHAR, url VARCHAR, \
         created_at TIMESTAMP, updated_at TIMESTAMP, statistics_views INTEGER, statistics_conversations INTEGER, \
         statistics_reactions INTEGER, statistics_happy_reaction_percentage DOUBLE, _fivetran_start TIMESTAMP, \
         _fivetran_end TIMESTAMP, _fivetran_active BOOLEAN, _fivetran_synced TIMESTAMP",
    ),
    (
        "article_view",
        "id VARCHAR, article_id VARCHAR, contact_id VARCHAR, anonymous_id VARCHAR, session_id VARCHAR, \
         viewed_at TIMESTAMP, channel VARCHAR, reaction VARCHAR, _fivetran_synced TIMESTAMP",
    ),
    (
        "content_receipt",
        "receipt_id VARCHAR, user_id VARCHAR, user_external_id VARCHAR, ruleset_id VARCHAR, \
         ruleset_version_id VARCHAR, content_id VARCHAR, content_type VARCHAR, content_title VARCHAR, \
         series_id VARCHAR, series_title VARCHAR, received_at TIMESTAMP, first_open TIMESTAMP, \
         first_click TIMESTAMP, first_reply TIMESTAMP, first_completion TIMESTAMP, first_dismisall TIMESTAMP, \
         first_unsubscribe TIMESTAMP, first_hard_bounce TIMESTAMP, first_reaction TIMESTAMP, \
         _fivetran_synced TIMESTAMP",
    ),
    (
        "help_center_event",
        "id VARCHAR, event_type VARCHAR, contact_id VARCHAR, anonymous_id VARCHAR, session_id VARCHAR, \
         occurred_at TIMESTAMP, channel VARCHAR, search_query VARCHAR, results_count INTEGER, \
         _fivetran_synced TIMESTAMP",
    ),
    (
        "team_admin",
        "team_id VARCHAR, admin_id VARCHAR, _fivetran_deleted BOOLEAN, _fivetran_synced TIMESTAMP",
    ),
    ("tag", "id VARCHAR, name VARCHAR, _fivetran_deleted BOOLEAN, _fivetran_synced TIMESTAMP"),
    (
        "conversation_tag_history",
        "conversation_id VARCHAR, tag_id VARCHAR, conversation_updated_at TIMESTAMP, _fivetran_start TIMESTAMP, \
         _fivetran_end TIMESTAMP, _fivetran_active BOOLEAN, _fivetran_synced TIMESTAMP",
    ),
];

fn columns(conn: &Connection, schema: &str, table: &str) -> String {
    let mut stmt = conn
        .prepare(
            "SELECT column_name || ' ' || data_type FROM information_schema.columns \
             WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
        )
        .unwrap();
    let cols: Vec<String> = stmt
        .query_map([schema, table], |r| r.get::<_, String>(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    cols.join(", ")
}

fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn sample_tables_have_the_spec_columns() {
    let (conn, summary) = gen(1);
    let names: Vec<&str> = summary.tables.iter().map(|t| t.0.as_str()).collect();
    assert_eq!(names, SPEC.iter().map(|s| s.0).collect::<Vec<_>>());
    for (table, spec) in SPEC {
        assert_eq!(
            columns(&conn, "intercom", table),
            squash(spec),
            "columns of {table}"
        );
    }
    assert_eq!(
        count(
            &conn,
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'intercom'"
        ),
        15
    );
    assert_eq!(
        count(&conn, "SELECT count(*) FROM intercom.metricflow_time_spine"),
        1095
    );
    assert_eq!(
        columns(&conn, "intercom", "tally_sample_metadata"),
        "key VARCHAR, value VARCHAR"
    );
    // The summary counts what is in the tables.
    for (table, n) in &summary.tables {
        assert_eq!(
            count(&conn, &format!("SELECT count(*) FROM intercom.{table}")) as u64,
            *n
        );
        assert!(*n > 0, "{table} is empty");
    }
    eprintln!("{summary:?}");
}

fn checksums(conn: &Connection) -> Vec<String> {
    SPEC.iter()
        .map(|(t, _)| {
            conn.query_row(
                &format!(
                    "SELECT md5(string_agg(x::VARCHAR, '\n' ORDER BY rowid)) FROM intercom.{t} x"
                ),
                [],
                |r| r.get::<_, String>(0),
            )
            .unwrap()
        })
        .collect()
}

#[test]
fn sample_is_deterministic() {
    let (a, sa) = gen(7);
    let (b, sb) = gen(7);
    let (c, sc) = gen(8);
    assert_eq!(sa, sb);
    let (ca, cb, cc) = (checksums(&a), checksums(&b), checksums(&c));
    assert_eq!(ca, cb);
    assert_ne!(sa.tables, sc.tables);
    for (k, (t, _)) in SPEC.iter().enumerate() {
        // The team and tag lists are fixed; everything else depends on the seed.
        if *t != "team" && *t != "tag" {
            assert_ne!(ca[k], cc[k], "{t} does not depend on the seed");
        }
    }
    assert_eq!(sa.as_of, "2026-06-30 23:59:59");
    assert_eq!(sc.as_of, sa.as_of);
}

#[test]
fn sample_metadata_records_the_cut_off() {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch("SET threads = 3").unwrap();
    let summary = gen_into(&conn, 1_200, 3, "demo data");
    assert_eq!(count(&conn, "SELECT current_setting('threads')"), 3);
    let get = |k: &str| -> String {
        conn.query_row(
            "SELECT value FROM \"demo data\".tally_sample_metadata WHERE key = ?",
            [k],
            |r| r.get(0),
        )
        .unwrap()
    };
    assert_eq!(get("as_of"), summary.as_of);
    assert_eq!(get("seed"), "3");
    assert_eq!(get("conversations"), "1200");
    assert_eq!(
        count(
            &conn,
            "SELECT count(DISTINCT id) FROM \"demo data\".conversation_history"
        ),
        1_200
    );
    // Re-running replaces the tables.
    gen_into(&conn, 1_000, 3, "demo data");
    assert_eq!(
        count(
            &conn,
            "SELECT count(DISTINCT id) FROM \"demo data\".conversation_history"
        ),
        1_000
    );
    assert_eq!(
        count(
            &conn,
            "SELECT count(*) FROM \"demo data\".tally_sample_metadata"
        ),
        6
    );
    // Out-of-range sizes are refused.
    let opts = SampleOptions {
        conversations: 999,
        ..SampleOptions::default()
    };
    assert!(generate_intercom(&conn, &opts).is_err());
}

#[test]
fn sample_history_versions_are_consistent() {
    let (conn, _) = gen(11);
    assert_eq!(
        count(
            &conn,
            "SELECT count(DISTINCT id) FROM intercom.conversation_history"
        ),
        1_000
    );
    // One active row per key, and it is the latest version; a conversation (and its contact
    // links) may keep its previous version active too (the generator's two-active-versions case).
    for (table, key, order) in [
        ("conversation_history", "id", "updated_at"),
        ("contact_history", "id", "updated_at"),
        ("article_history", "id", "updated_at"),
        ("conversation_part_history", "id", "conversation_updated_at"),
        (
            "conversation_contact_history",
            "conversation_id, contact_id",
            "conversation_updated_at",
        ),
    ] {
        let most = if table.starts_with("conversation_") && table != "conversation_part_history" {
            2
        } else {
            1
        };
        let bad = count(
            &conn,
            &format!(
                "SELECT count(*) FROM (SELECT {key}, count(*) FILTER (WHERE _fivetran_active) n, \
                 max({order}) m, max({order}) FILTER (WHERE _fivetran_active) a \
                 FROM intercom.{table} GROUP BY ALL) WHERE n < 1 OR n > {most} OR a <> m"
            ),
        );
        assert_eq!(
            bad, 0,
            "{table}: not exactly one active, latest row per key"
        );
        // Superseded rows end 1 ms before the next version starts; the current row ends at
        // Fivetran's sentinel.
        let bad = count(
            &conn,
            &format!(
                "SELECT count(*) FROM (SELECT _fivetran_end e, _fivetran_active act, \
                   lead(_fivetran_start) OVER (PARTITION BY {key} ORDER BY {order}) nxt FROM intercom.{table}) \
                 WHERE (nxt IS NULL AND (e <> TIMESTAMP '9999-12-31 23:59:59' OR NOT act)) \
                    OR (nxt IS NOT NULL AND (e <> nxt - INTERVAL 1 MILLISECOND OR (act AND {most} = 1)))"
            ),
        );
        assert_eq!(bad, 0, "{table}: _fivetran_end chain broken");
        let bad = count(
            &conn,
            &format!(
                "SELECT count(*) FROM intercom.{table} WHERE _fivetran_synced < _fivetran_start"
            ),
        );
        assert_eq!(bad, 0, "{table}: synced before the version started");
    }
    // Most conversations have several versions; some went open -> snoozed -> closed.
    let multi = count(
        &conn,
        "SELECT count(*) FROM (SELECT id FROM intercom.conversation_history GROUP BY id HAVING count(*) >= 3)",
    );
    assert!(multi > 300, "only {multi} conversations with 3+ versions");
    let journey = count(
        &conn,
        "SELECT count(*) FROM (SELECT id, string_agg(state, '>' ORDER BY updated_at) s \
         FROM intercom.conversation_history GROUP BY id) WHERE s LIKE 'open%snoozed%open%closed%'",
    );
    assert!(journey > 0);
    // Versions reflect the state at the time: early versions are unclosed.
    let changed = count(
        &conn,
        "SELECT count(DISTINCT id) FROM intercom.conversation_history \
         WHERE NOT _fivetran_active AND statistics_last_close_at IS NULL \
           AND id IN (SELECT id FROM intercom.conversation_history WHERE _fivetran_active AND state = 'closed')",
    );
    assert!(changed > 300);
    // Contacts have histories too (replies, sign-ups, unsubscribes).
    let contact_versions = count(
        &conn,
        "SELECT count(*) FROM (SELECT id FROM intercom.contact_history GROUP BY id HAVING count(*) > 1)",
    );
    assert!(contact_versions > 100);
    assert!(
        count(
            &conn,
            "SELECT count(*) FROM intercom.contact_history WHERE unsubscribed_from_emails"
        ) > 0
    );
    let converted = count(
        &conn,
        "SELECT count(*) FROM (SELECT id FROM intercom.contact_history GROUP BY id \
         HAVING count(DISTINCT role) = 2 AND arg_max(role, updated_at) = 'user')",
    );
    assert!(converted > 0, "no lead converted to a user");
}

#[test]
fn sample_parts_are_reemitted_under_newer_versions() {
    let (conn, _) = gen(5);
    let rows = count(
        &conn,
        "SELECT count(*) FROM intercom.conversation_part_history",
    );
    let ids = count(
        &conn,
        "SELECT count(DISTINCT id) FROM intercom.conversation_part_history",
    );
    assert!(rows > ids + ids / 10, "{rows} rows for {ids} parts");
    // Each emission carries the updated_at of an existing conversation version, at or after
    // the part's creation; re-emissions are identical apart from the version columns.
    let orphans = count(
        &conn,
        "SELECT count(*) FROM intercom.conversation_part_history p ANTI JOIN intercom.conversation_history c \
         ON c.id = p.conversation_id AND c.updated_at = p.conversation_updated_at",
    );
    assert_eq!(orphans, 0);
    assert_eq!(
        count(
            &conn,
            "SELECT count(*) FROM intercom.conversation_part_history WHERE created_at > conversation_updated_at"
        ),
        0
    );
    let variants = count(
        &conn,
        "SELECT count(*) FROM (SELECT id FROM intercom.conversation_part_history GROUP BY id \
         HAVING count(DISTINCT (part_type, body, author_id, created_at, assigned_to_id)) > 1)",
    );
    assert_eq!(variants, 0);
    // Parts come strictly after the conversation was created.
    let early = count(
        &conn,
        "SELECT count(*) FROM intercom.conversation_part_history p JOIN intercom.conversation_history c \
         ON c.id = p.conversation_id AND c._fivetran_active WHERE p.created_at <= c.created_at",
    );
    assert_eq!(early, 0);
    // The opening message is not a part: inbound conversations' first part is never a
    // customer comment at created_at, and every conversation has a source body.
    assert_eq!(
        count(
            &conn,
            "SELECT count(*) FROM intercom.conversation_history WHERE source_body IS NULL"
        ),
        0
    );
}

#[test]
fn sample_has_every_realism_feature() {
    let (conn, _) = gen(42);
    let checks: &[(&str, &str)] = &[
        ("note with a body", "SELECT count(*) FROM parts WHERE part_type = 'note' AND body IS NOT NULL"),
        (
            "reply carried by an assignment",
            "SELECT count(*) FROM parts WHERE part_type = 'assignment' AND author_type = 'admin' AND body IS NOT NULL",
        ),
        (
            "bot routing (default_assignment to a team)",
            "SELECT count(*) FROM parts WHERE part_type = 'default_assignment' AND author_type = 'bot' AND assigned_to_type = 'team'",
        ),
        (
            "Fin assumed resolution closed by the bot",
            "SELECT count(*) FROM conv c JOIN parts p ON p.conversation_id = c.id AND p.part_type = 'close' AND p.author_type = 'bot' \
             WHERE c.ai_agent_resolution_state = 'assumed_resolution'",
        ),
        ("Fin confirmed resolution", "SELECT count(*) FROM conv WHERE ai_agent_resolution_state = 'confirmed_resolution'"),
        ("Fin escalation", "SELECT count(*) FROM conv WHERE ai_agent_resolution_state IN ('escalated', 'negative_feedback')"),
        (
            "Workflow question unanswered, auto-closed by the bot",
            "SELECT count(*) FROM conv c WHERE NOT c.ai_agent_participated \
             AND EXISTS (SELECT 1 FROM parts p WHERE p.conversation_id = c.id AND p.part_type = 'close' AND p.author_type = 'bot') \
             AND NOT EXISTS (SELECT 1 FROM cust_msg m WHERE m.conversation_id = c.id) \
             AND NOT EXISTS (SELECT 1 FROM human_reply h WHERE h.conversation_id = c.id)",
        ),
        (
            "teammate answer closed within minutes",
            "SELECT count(*) FROM conv c JOIN closes k ON k.conversation_id = c.id \
             WHERE k.first_close_at <= (SELECT min(created_at) FROM human_reply h WHERE h.conversation_id = c.id) + INTERVAL 30 MINUTE",
        ),
        (
            "bot CSAT prompt after the close",
            "SELECT count(*) FROM bot_reply b JOIN closes k USING (conversation_id) WHERE b.created_at > k.last_close_at",
        ),
        ("snoozed part", "SELECT count(*) FROM parts WHERE part_type = 'snoozed'"),
        ("timer unsnooze", "SELECT count(*) FROM parts WHERE part_type = 'timer_unsnooze'"),
        (
            "snoozed version",
            "SELECT count(*) FROM intercom.conversation_history WHERE state = 'snoozed' AND snoozed_until > updated_at",
        ),
        ("admin reopen (open part)", "SELECT count(*) FROM parts WHERE part_type = 'open' AND author_type = 'admin'"),
        (
            "assign_and_reopen / note_and_reopen",
            "SELECT count(*) FROM parts WHERE part_type IN ('assign_and_reopen', 'note_and_reopen')",
        ),
        (
            "reopen by a customer reply after the close",
            "SELECT count(*) FROM reopen r JOIN cust_msg m USING (conversation_id, created_at)",
        ),
        ("Intercom's reopen counter", "SELECT count(*) FROM conv WHERE statistics_count_reopens > 0"),
        (
            "admin-initiated outbound conversation answered by the customer",
            "SELECT count(*) FROM conv c WHERE source_delivered_as = 'admin_initiated' AND source_author_type = 'admin' \
             AND first_contact_reply_created_at > created_at \
             AND EXISTS (SELECT 1 FROM cust_msg m WHERE m.conversation_id = c.id)",
        ),
        ("automated outbound", "SELECT count(*) FROM conv WHERE source_delivered_as = 'automated'"),
        ("custom bot outbound", "SELECT count(*) FROM conv WHERE source_delivered_as = 'operator_initiated'"),
        ("unrated conversation", "SELECT count(*) FROM conv WHERE state = 'closed' AND conversation_rating_value IS NULL"),
        ("every rating value", "SELECT CASE WHEN count(DISTINCT conversation_rating_value) = 5 THEN 1 ELSE 0 END FROM conv"),
        ("rating remark", "SELECT count(*) FROM conv WHERE conversation_rating_remark IS NOT NULL"),
        (
            "re-rated conversation",
            "SELECT count(*) FROM (SELECT id FROM intercom.conversation_history GROUP BY id \
             HAVING count(DISTINCT conversation_rating_value) > 1)",
        ),
        ("rating part", "SELECT count(*) FROM parts WHERE part_type = 'conversation_rating_changed'"),
        ("deleted admin", "SELECT count(*) FROM intercom.admin WHERE _fivetran_deleted"),
        (
            "parts by deleted admins",
            "SELECT count(*) FROM parts p JOIN intercom.admin a ON a.id = p.author_id WHERE a._fivetran_deleted",
        ),
        ("deleted team", "SELECT count(*) FROM intercom.team WHERE _fivetran_deleted"),
        (
            "conversations routed to the deleted team",
            "SELECT count(*) FROM intercom.conversation_history c JOIN intercom.team t ON t.id = c.team_assignee_id WHERE t._fivetran_deleted",
        ),
        ("Operator bot listed as an admin", "SELECT count(*) FROM intercom.admin WHERE email LIKE 'operator+%@intercom.io'"),
        ("anonymous article view", "SELECT count(*) FROM intercom.article_view WHERE contact_id IS NULL"),
        ("identified article view", "SELECT count(*) FROM intercom.article_view WHERE contact_id IS NOT NULL"),
        ("article reaction", "SELECT count(*) FROM intercom.article_view WHERE reaction IS NOT NULL"),
        ("messenger article view", "SELECT count(*) FROM intercom.article_view WHERE channel = 'messenger'"),
        ("draft article", "SELECT count(*) FROM intercom.article_history WHERE _fivetran_active AND state = 'draft'"),
        (
            "bounced receipt",
            "SELECT count(*) FROM intercom.content_receipt WHERE first_hard_bounce IS NOT NULL AND first_open IS NULL",
        ),
        ("opened receipt", "SELECT count(*) FROM intercom.content_receipt WHERE first_open IS NOT NULL"),
        ("receipt answered", "SELECT count(*) FROM intercom.content_receipt WHERE first_reply IS NOT NULL"),
        ("receipt outside a series", "SELECT count(*) FROM intercom.content_receipt WHERE series_id = '-1'"),
        ("unsubscribe", "SELECT count(*) FROM intercom.content_receipt WHERE first_unsubscribe IS NOT NULL"),
        ("tour completion", "SELECT count(*) FROM intercom.content_receipt WHERE first_completion IS NOT NULL"),
        ("dismissal", "SELECT count(*) FROM intercom.content_receipt WHERE first_dismisall IS NOT NULL"),
        (
            "conversation with a CC'd colleague",
            "SELECT count(*) FROM (SELECT conversation_id FROM intercom.conversation_contact_history \
             WHERE _fivetran_active GROUP BY 1 HAVING count(*) = 2)",
        ),
        ("lead author", "SELECT count(*) FROM parts WHERE author_type = 'lead'"),
        ("priority conversation", "SELECT count(*) FROM conv WHERE priority = 'priority'"),
        ("waiting customer", "SELECT count(*) FROM conv WHERE state = 'open' AND waiting_since IS NOT NULL"),
        ("unanswered conversation", "SELECT count(*) FROM conv c WHERE source_delivered_as = 'customer_initiated' \
             AND NOT EXISTS (SELECT 1 FROM human_reply h WHERE h.conversation_id = c.id) \
             AND NOT EXISTS (SELECT 1 FROM bot_reply h WHERE h.conversation_id = c.id)"),
        ("escalation to another team", "SELECT count(*) FROM parts WHERE part_type = 'assignment' AND author_type = 'admin' AND assigned_to_type = 'team'"),
        ("email channel", "SELECT count(*) FROM conv WHERE source_type = 'email' AND source_subject IS NOT NULL"),
        ("phone channel", "SELECT count(*) FROM conv WHERE source_type = 'phone_call'"),
        (
            "two active versions of one conversation",
            "SELECT count(*) FROM (SELECT id FROM intercom.conversation_history WHERE _fivetran_active \
             GROUP BY id HAVING count(*) > 1)",
        ),
        (
            "a teammate's reply-and-close as the first reply",
            "SELECT count(*) FROM parts p WHERE p.part_type = 'close' AND p.author_type = 'admin' AND p.body IS NOT NULL \
             AND NOT EXISTS (SELECT 1 FROM human_reply h WHERE h.conversation_id = p.conversation_id AND h.created_at < p.created_at)",
        ),
        (
            "a CC'd colleague with a smaller contact id than the author",
            "SELECT count(*) FROM conv c WHERE source_delivered_as = 'customer_initiated' AND source_author_id > \
             (SELECT min(h.contact_id) FROM intercom.conversation_contact_history h WHERE h.conversation_id = c.id AND h._fivetran_active)",
        ),
        ("office-hours statistics", "SELECT count(*) FROM conv WHERE statistics_time_to_admin_reply < date_diff('second', statistics_first_contact_reply_at, statistics_first_admin_reply_at)"),
    ];
    let mut missing = Vec::new();
    for (what, sql) in checks {
        let n = current(&conn, sql);
        if n == 0 {
            missing.push(*what);
        }
    }
    assert!(missing.is_empty(), "missing realism features: {missing:?}");
}

#[test]
fn sample_timestamps_are_never_after_as_of() {
    let (conn, summary) = gen(9);
    let mut stmt = conn
        .prepare(
            "SELECT table_name, column_name FROM information_schema.columns \
             WHERE table_schema = 'intercom' AND data_type = 'TIMESTAMP' ORDER BY ALL",
        )
        .unwrap();
    let cols: Vec<(String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(cols.len() > 40);
    for (table, col) in cols {
        // `_fivetran_end` of current rows is Fivetran's 9999 sentinel; `snoozed_until` is when
        // a snooze *will* end, which may lie after the cut-off.
        if col == "_fivetran_end" || col == "snoozed_until" {
            continue;
        }
        let late = count(
            &conn,
            &format!(
                "SELECT count(*) FROM intercom.{table} WHERE {col} > TIMESTAMP '{}'",
                summary.as_of
            ),
        );
        assert_eq!(late, 0, "{table}.{col} has values after as_of");
    }
    assert_eq!(
        count(
            &conn,
            &format!(
                "SELECT count(*) FROM intercom.conversation_history WHERE NOT _fivetran_active AND _fivetran_end > TIMESTAMP '{}'",
                summary.as_of
            )
        ),
        0
    );
    // Something happens right up to the cut-off (immature conversations exist).
    assert!(
        count(
            &conn,
            "SELECT count(*) FROM intercom.conversation_history WHERE created_at > TIMESTAMP '2026-06-23'"
        ) > 0
    );
}

#[test]
fn sample_rhythms_and_behaviour_differ() {
    let (conn, _) = gen(21);
    let inbound = "FROM conv WHERE source_delivered_as = 'customer_initiated'";
    // Weekly rhythm: weekdays are busier than weekends (per day).
    let weekday = current(
        &conn,
        &format!("SELECT count(*) {inbound} AND isodow(created_at) <= 5"),
    ) as f64
        / 5.0;
    let weekend = current(
        &conn,
        &format!("SELECT count(*) {inbound} AND isodow(created_at) > 5"),
    ) as f64
        / 2.0;
    assert!(
        weekday > 2.0 * weekend,
        "weekday {weekday}/day vs weekend {weekend}/day"
    );
    // Daily rhythm.
    let day = current(
        &conn,
        &format!("SELECT count(*) {inbound} AND hour(created_at) BETWEEN 9 AND 16"),
    );
    let night = current(
        &conn,
        &format!("SELECT count(*) {inbound} AND hour(created_at) BETWEEN 0 AND 5"),
    );
    assert!(day > 5 * night, "day {day} vs night {night}");
    // Office hours: teammates barely ever answer first between 00:00 and 06:00 UTC.
    let first = "FROM (SELECT c.id, min(h.created_at) t FROM conv c JOIN human_reply h ON h.conversation_id = c.id \
                 WHERE h.created_at >= c.first_contact_reply_created_at GROUP BY 1)";
    let all = current(&conn, &format!("SELECT count(*) {first}"));
    let off = current(&conn, &format!("SELECT count(*) {first} WHERE hour(t) < 6"));
    assert!(off * 50 < all, "{off} of {all} first replies at night");
    // Channels differ: chats are answered much faster than emails.
    let frt = |source: &str| {
        float(
            &conn,
            &format!(
                "{CURRENT} SELECT median(date_diff('second', c.first_contact_reply_created_at, f.t)) \
                 FROM conv c JOIN (SELECT conversation_id, min(created_at) t FROM human_reply GROUP BY 1) f ON f.conversation_id = c.id \
                 WHERE c.source_delivered_as = 'customer_initiated' AND c.source_type = '{source}'"
            ),
        )
    };
    let (chat, email) = (frt("conversation"), frt("email"));
    assert!(email > 4.0 * chat, "email {email}s vs chat {chat}s");
    // Teams differ: Tier 1 answers faster and gets better ratings than Billing / Technical Support.
    let by_team = |team: &str, expr: &str| {
        float(
            &conn,
            &format!(
                "{CURRENT} SELECT {expr} FROM conv c JOIN intercom.team t ON t.id = c.team_assignee_id \
                 LEFT JOIN (SELECT conversation_id, min(created_at) t FROM human_reply GROUP BY 1) f ON f.conversation_id = c.id \
                 WHERE c.source_delivered_as = 'customer_initiated' AND t.name = '{team}'"
            ),
        )
    };
    let frt_expr = "median(date_diff('second', c.first_contact_reply_created_at, f.t))::DOUBLE";
    let tier1 = by_team("Tier 1 Support", frt_expr);
    let tech = by_team("Technical Support", frt_expr);
    assert!(tech > 2.0 * tier1, "tech {tech}s vs tier 1 {tier1}s");
    // Reopens are rare (about one conversation in seven): 1,000 conversations are too few to
    // tell two teams apart, so this comparison runs on 10,000.
    let big = Connection::open_in_memory().unwrap();
    gen_into(&big, 10_000, 21, "intercom");
    let reopens = |team: &str| {
        float(
            &big,
            &format!(
                "{CURRENT} SELECT avg(c.statistics_count_reopens)::DOUBLE FROM conv c \
                 JOIN intercom.team t ON t.id = c.team_assignee_id \
                 WHERE c.source_delivered_as = 'customer_initiated' AND t.name = '{team}'"
            ),
        )
    };
    let reopen_t1 = reopens("Tier 1 Support");
    let reopen_billing = reopens("Billing");
    assert!(
        reopen_billing > reopen_t1,
        "billing reopens {reopen_billing} vs tier 1 {reopen_t1}"
    );
    // Contacts come back within days.
    let back = current(
        &conn,
        "SELECT count(*) FROM (SELECT cc.contact_id, c.created_at, \
           lag(c.created_at) OVER (PARTITION BY cc.contact_id ORDER BY c.created_at) prev \
         FROM conv c JOIN intercom.conversation_contact_history cc ON cc.conversation_id = c.id AND cc._fivetran_active) \
         WHERE created_at - prev <= INTERVAL 7 DAY",
    );
    assert!(back > 50, "only {back} returns within 7 days");
}

/// Every metric of `intercom.md` §5 has something to count, on both sides of each ratio.
#[test]
fn sample_exercises_every_metric() {
    let (conn, summary) = gen(42);
    let as_of = &summary.as_of;
    let base = format!(
        "{CURRENT},
inbound AS (SELECT * FROM conv WHERE source_delivered_as = 'customer_initiated'),
contact AS (SELECT conversation_id, min(contact_id) contact_id FROM intercom.conversation_contact_history
            WHERE coalesce(_fivetran_active, true) GROUP BY 1),
last_close AS (SELECT conversation_id, arg_max(author_type, created_at) author_type FROM parts WHERE part_type = 'close' GROUP BY 1),
b AS (
  SELECT c.*, k.first_close_at, k.last_close_at, lc.author_type last_close_author_type, ct.contact_id,
    coalesce(c.first_contact_reply_created_at, (SELECT min(m.created_at) FROM cust_msg m WHERE m.conversation_id = c.id), c.created_at) t0,
    (SELECT max(s.created_at) FROM (SELECT * FROM human_reply UNION ALL SELECT * FROM bot_reply) s
      WHERE s.conversation_id = c.id AND (k.last_close_at IS NULL OR s.created_at <= k.last_close_at)) t_s,
    greatest(c.created_at, coalesce((SELECT max(m.created_at) FROM cust_msg m WHERE m.conversation_id = c.id), c.created_at)) t_c
  FROM inbound c LEFT JOIN closes k ON k.conversation_id = c.id LEFT JOIN last_close lc ON lc.conversation_id = c.id
  LEFT JOIN contact ct ON ct.conversation_id = c.id),
m AS (
  SELECT b.*,
    coalesce(t_s > t_c AND conversation_rating_value IS NULL
      AND coalesce(ai_agent_resolution_state, '') NOT IN ('assumed_resolution', 'confirmed_resolution')
      AND ((state <> 'closed' AND TIMESTAMP '{as_of}' - t_s >= INTERVAL 24 HOUR)
        OR (state = 'closed' AND (last_close_author_type = 'bot' OR last_close_at - t_s >= INTERVAL 24 HOUR))), false) abandoned,
    EXISTS (SELECT 1 FROM reopen r WHERE r.conversation_id = b.id AND r.created_at <= b.first_close_at + INTERVAL 7 DAY) reopened,
    (first_close_at IS NULL OR first_close_at + INTERVAL 7 DAY <= TIMESTAMP '{as_of}') mature,
    (SELECT min(h.created_at) FROM human_reply h WHERE h.conversation_id = b.id AND h.created_at >= b.t0) first_reply
  FROM b),
r AS (SELECT m.*, (first_close_at IS NOT NULL AND NOT abandoned AND NOT reopened) resolved FROM m),
sessions AS (SELECT session_id, contact_id, min(viewed_at) s FROM intercom.article_view WHERE contact_id IS NOT NULL GROUP BY ALL)
"
    );
    let q = |what: &str| count(&conn, &format!("{base} {what}"));
    let mature = q("SELECT count(*) FROM r WHERE mature");
    let resolved = q("SELECT count(*) FROM r WHERE mature AND resolved");
    let reopened = q("SELECT count(*) FROM r WHERE mature AND reopened");
    let abandoned = q("SELECT count(*) FROM r WHERE abandoned");
    let abandoned_open = q("SELECT count(*) FROM r WHERE abandoned AND state <> 'closed'");
    let abandoned_bot = q("SELECT count(*) FROM r WHERE abandoned AND state = 'closed' AND last_close_author_type = 'bot'");
    let abandoned_late = q("SELECT count(*) FROM r WHERE abandoned AND state = 'closed' AND last_close_author_type = 'admin'");
    let fin_not_abandoned = q(
        "SELECT count(*) FROM r WHERE NOT abandoned AND last_close_author_type = 'bot' \
         AND ai_agent_resolution_state = 'assumed_resolution'",
    );
    let quick_close = q(
        "SELECT count(*) FROM r WHERE resolved AND last_close_author_type = 'admin' AND last_close_at - t_s < INTERVAL 24 HOUR",
    );
    let res_time = q(
        "SELECT count(*) FROM r WHERE state = 'closed' AND NOT abandoned AND last_close_at > t0",
    );
    let rated = q("SELECT count(*) FROM conv WHERE conversation_rating_value IS NOT NULL");
    let positive = q("SELECT count(*) FROM conv WHERE conversation_rating_value >= 4");
    let closed = q("SELECT count(*) FROM r WHERE last_close_at IS NOT NULL");
    let repeats = q(
        "SELECT count(*) FROM r c WHERE last_close_at IS NOT NULL AND EXISTS (SELECT 1 FROM r n \
         WHERE n.contact_id = c.contact_id AND n.id <> c.id AND n.created_at > c.last_close_at \
         AND n.created_at <= c.last_close_at + INTERVAL 7 DAY)",
    );
    let answered = q("SELECT count(*) FROM r WHERE first_reply IS NOT NULL");
    let unanswered = q("SELECT count(*) FROM r WHERE first_reply IS NULL");
    let identified_sessions = q(&format!(
        "SELECT count(*) FROM sessions WHERE s + INTERVAL 24 HOUR <= TIMESTAMP '{as_of}'"
    ));
    let served = q(&format!(
        "SELECT count(*) FROM sessions x WHERE s + INTERVAL 24 HOUR <= TIMESTAMP '{as_of}' AND NOT EXISTS \
         (SELECT 1 FROM r WHERE r.contact_id = x.contact_id AND r.created_at BETWEEN x.s AND x.s + INTERVAL 24 HOUR)"
    ));
    let views = q("SELECT count(*) FROM intercom.article_view WHERE contact_id IS NOT NULL");
    let resolving_views = q(
        "SELECT count(*) FROM intercom.article_view v WHERE contact_id IS NOT NULL AND NOT EXISTS \
         (SELECT 1 FROM r WHERE r.contact_id = v.contact_id AND r.created_at BETWEEN v.viewed_at AND v.viewed_at + INTERVAL 24 HOUR)",
    );
    let automated = q(
        "SELECT count(*) FROM r WHERE resolved AND NOT EXISTS (SELECT 1 FROM human_reply h WHERE h.conversation_id = r.id) \
         AND EXISTS (SELECT 1 FROM bot_reply x WHERE x.conversation_id = r.id AND x.created_at < r.first_close_at)",
    );
    let fin_involved = q("SELECT count(*) FROM r WHERE ai_agent_participated");
    let delivered =
        q("SELECT count(*) FROM intercom.content_receipt WHERE first_hard_bounce IS NULL");
    let opened = q("SELECT count(*) FROM intercom.content_receipt WHERE first_hard_bounce IS NULL AND first_open IS NOT NULL");
    let outbound_conversations =
        q("SELECT count(*) FROM conv WHERE source_delivered_as <> 'customer_initiated'");

    let stats = [
        ("mature", mature),
        ("resolved", resolved),
        ("reopened", reopened),
        ("abandoned", abandoned),
        ("abandoned, still open", abandoned_open),
        ("abandoned, bot close", abandoned_bot),
        ("abandoned, late teammate close", abandoned_late),
        ("Fin resolution (not abandoned)", fin_not_abandoned),
        ("closed within 24h of the answer", quick_close),
        ("resolution times", res_time),
        ("rated", rated),
        ("positive", positive),
        ("closed", closed),
        ("repeat contacts", repeats),
        ("answered", answered),
        ("unanswered", unanswered),
        ("identified sessions", identified_sessions),
        ("self-served sessions", served),
        ("identified views", views),
        ("resolving views", resolving_views),
        ("automated resolutions", automated),
        ("Fin-involved", fin_involved),
        ("delivered", delivered),
        ("opened", opened),
        ("outbound conversations", outbound_conversations),
    ];
    eprintln!("{stats:?}");
    for (what, n) in stats {
        assert!(n > 0, "nothing for {what}");
    }
    // Ratios are strictly between 0 and 1 (both outcomes occur).
    for (what, num, den) in [
        ("resolution", resolved, mature),
        ("CSAT", positive, rated),
        ("repeat contact", repeats, closed),
        ("self-serve", served, identified_sessions),
        ("article resolution", resolving_views, views),
        ("open rate", opened, delivered),
    ] {
        assert!(num < den, "{what}: {num} of {den}");
    }
    let inbound = q("SELECT count(*) FROM r");
    assert!(
        abandoned < inbound / 3 && resolved > mature / 3,
        "implausible mix: {stats:?}"
    );
}

#[test]
fn sample_ratings_follow_intercoms_request_rules() {
    // Intercom asks for a rating only when a teammate took part, the text is over 250
    // characters and it is not a group conversation (sample/rating.rs); these only grow after the
    // request, so no rated conversation may break them.
    let (conn, _) = gen(42);
    let text = "length(coalesce(c.source_body, '')) + (SELECT coalesce(sum(length(p.body)), 0) FROM parts p \
                WHERE p.conversation_id = c.id AND ((p.author_type IN ('user', 'lead') AND p.part_type IN ('comment', 'quick_reply')) \
                OR (p.author_type = 'admin' AND (p.part_type = 'comment' OR (p.body IS NOT NULL \
                AND p.part_type IN ('assignment', 'assign_and_reopen', 'open', 'close'))))))";
    let rated = current(
        &conn,
        "SELECT count(*) FROM conv WHERE conversation_rating_value IS NOT NULL",
    );
    assert!(rated > 20, "only {rated} rated conversations");
    for (rule, sql) in [
        (
            "a teammate took part",
            "SELECT count(*) FROM conv c WHERE conversation_rating_value IS NOT NULL \
             AND NOT EXISTS (SELECT 1 FROM human_reply h WHERE h.conversation_id = c.id) \
             AND NOT (source_delivered_as = 'admin_initiated' AND source_author_type = 'admin')"
                .to_string(),
        ),
        (
            "over 250 characters",
            format!("SELECT count(*) FROM conv c WHERE conversation_rating_value IS NOT NULL AND {text} <= 250"),
        ),
        (
            "not a group conversation",
            "SELECT count(*) FROM conv c WHERE conversation_rating_value IS NOT NULL AND (SELECT count(DISTINCT h.contact_id) \
             FROM intercom.conversation_contact_history h WHERE h.conversation_id = c.id AND h._fivetran_active) > 1"
                .to_string(),
        ),
    ] {
        assert_eq!(current(&conn, &sql), 0, "rated conversations that break \"{rule}\"");
    }
    // And the rules bite: some closed conversations a teammate answered were not asked.
    let short = current(
        &conn,
        &format!(
            "SELECT count(*) FROM conv c WHERE state = 'closed' AND {text} <= 250 \
             AND EXISTS (SELECT 1 FROM human_reply h WHERE h.conversation_id = c.id)"
        ),
    );
    assert!(
        short > 0,
        "no short answered conversation: the length rule is not exercised"
    );
}

#[test]
fn sample_has_the_support_funnel_events() {
    let (conn, _) = gen(11);
    let n = |sql: &str| count(&conn, sql);
    for (kind, channel) in [
        ("landing", "help_center"),
        ("search", "help_center"),
        ("search", "messenger"),
    ] {
        assert!(
            n(&format!(
                "SELECT count(*) FROM intercom.help_center_event \
                 WHERE event_type = '{kind}' AND channel = '{channel}'"
            )) > 50,
            "{kind} in {channel}"
        );
    }
    // Searches that find nothing, and landings never followed by an article view the same day
    // (people who stop seeking support), anonymous and identified.
    assert!(n("SELECT count(*) FROM intercom.help_center_event WHERE results_count = 0") > 20);
    for who in ["contact_id IS NULL", "contact_id IS NOT NULL"] {
        assert!(
            n(&format!(
                "SELECT count(*) FROM intercom.help_center_event e
                 WHERE e.event_type = 'landing' AND e.{who}
                   AND NOT EXISTS (SELECT 1 FROM intercom.article_view v
                                   WHERE v.anonymous_id = e.anonymous_id
                                     AND v.viewed_at BETWEEN e.occurred_at - INTERVAL 1 DAY
                                                         AND e.occurred_at + INTERVAL 1 DAY)"
            )) > 20,
            "bounces where {who}"
        );
    }
    // Conversations started right after a search with no article view in the 24 hours before,
    // and conversations started after an article view.
    let before = |table: &str, t: &str| {
        format!(
            "SELECT count(DISTINCT c.id) FROM intercom.conversation_history c
             WHERE c.source_delivered_as = 'customer_initiated'
               AND EXISTS (SELECT 1 FROM intercom.{table} x WHERE x.contact_id = c.source_author_id
                             AND x.{t} BETWEEN c.created_at - INTERVAL 1 DAY AND c.created_at)"
        )
    };
    assert!(n(&before("help_center_event", "occurred_at")) > 30);
    assert!(n(&before("article_view", "viewed_at")) > 30);
    assert!(
        n("SELECT count(DISTINCT c.id) FROM intercom.conversation_history c
           WHERE c.source_delivered_as = 'customer_initiated'
             AND EXISTS (SELECT 1 FROM intercom.help_center_event e WHERE e.contact_id = c.source_author_id
                           AND e.event_type = 'search'
                           AND e.occurred_at BETWEEN c.created_at - INTERVAL 30 MINUTE AND c.created_at)
             AND NOT EXISTS (SELECT 1 FROM intercom.article_view v WHERE v.contact_id = c.source_author_id
                           AND v.viewed_at BETWEEN c.created_at - INTERVAL 1 DAY AND c.created_at)")
            > 10
    );
    // Fin answers resolving and handing off.
    for state in ["assumed_resolution", "escalated"] {
        assert!(
            n(&format!(
                "SELECT count(DISTINCT id) FROM intercom.conversation_history \
                 WHERE ai_agent_resolution_state = '{state}'"
            )) > 10
        );
    }
    // Reactions: only to opened posts, chats and e-mails, after the open.
    assert!(
        n("SELECT count(*) FROM intercom.content_receipt WHERE first_reaction IS NOT NULL") > 20
    );
    assert_eq!(
        n(
            "SELECT count(*) FROM intercom.content_receipt WHERE first_reaction IS NOT NULL
           AND (first_open IS NULL OR first_reaction <= first_open
                OR content_type NOT IN ('post', 'chat', 'email'))"
        ),
        0
    );
}

/// The links of each conversation's current version (`CURRENT`'s `conv`), with the tag.
const CURRENT_TAGS: &str = ", cur_tag AS (SELECT l.conversation_id, l.tag_id, t.name, t._fivetran_deleted AS tag_deleted \
     FROM intercom.conversation_tag_history l JOIN conv c ON c.id = l.conversation_id AND c.updated_at = l.conversation_updated_at \
     JOIN intercom.tag t ON t.id = l.tag_id WHERE l._fivetran_active)";

#[test]
fn sample_has_teammates_in_several_teams_and_tags() {
    let (conn, _) = gen(42);
    let with_tags = |tail: &str| current(&conn, &format!("{CURRENT_TAGS} {tail}"));
    let checks: &[(&str, &str)] = &[
        (
            "a teammate in two teams who works conversations of both",
            "SELECT count(*) FROM (SELECT m.admin_id FROM intercom.team_admin m \
             WHERE NOT m._fivetran_deleted \
               AND EXISTS (SELECT 1 FROM conv c WHERE c.assignee_id = m.admin_id AND c.team_assignee_id = m.team_id) \
             GROUP BY m.admin_id HAVING count(DISTINCT m.team_id) >= 2)",
        ),
        (
            "a teammate in three teams",
            "SELECT count(*) FROM (SELECT admin_id FROM intercom.team_admin WHERE NOT _fivetran_deleted \
             GROUP BY admin_id HAVING count(*) >= 3)",
        ),
        (
            "a removed membership of a teammate still in the workspace",
            "SELECT count(*) FROM intercom.team_admin m JOIN intercom.admin a ON a.id = m.admin_id \
             WHERE m._fivetran_deleted AND NOT a._fivetran_deleted",
        ),
        (
            "a membership added during the period",
            "SELECT count(*) FROM intercom.team_admin WHERE NOT _fivetran_deleted AND _fivetran_synced < TIMESTAMP '2026-06-30 23:00:00'",
        ),
        (
            "memberships of the deleted team, deleted",
            "SELECT count(*) FROM intercom.team_admin m JOIN intercom.team t ON t.id = m.team_id \
             WHERE t._fivetran_deleted AND m._fivetran_deleted",
        ),
        ("a deleted tag", "SELECT count(*) FROM intercom.tag WHERE _fivetran_deleted"),
        (
            "a conversation with two tags now",
            "SELECT count(*) FROM (SELECT conversation_id FROM cur_tag GROUP BY 1 HAVING count(*) >= 2)",
        ),
        ("a current link to a deleted tag", "SELECT count(*) FROM cur_tag WHERE tag_deleted"),
        (
            "tag links re-emitted under several versions",
            "SELECT count(*) FROM (SELECT conversation_id, tag_id FROM intercom.conversation_tag_history \
             GROUP BY 1, 2 HAVING count(DISTINCT conversation_updated_at) >= 2)",
        ),
        (
            "a tag removed in a later version",
            "SELECT count(*) FROM (SELECT DISTINCT conversation_id, tag_id FROM intercom.conversation_tag_history) l \
             WHERE NOT EXISTS (SELECT 1 FROM cur_tag c WHERE c.conversation_id = l.conversation_id AND c.tag_id = l.tag_id)",
        ),
        ("outage tags", "SELECT count(*) FROM cur_tag WHERE name = 'outage'"),
        ("feature requests", "SELECT count(*) FROM cur_tag WHERE name = 'feature-request'"),
        ("billing tags", "SELECT count(*) FROM cur_tag WHERE name = 'billing'"),
        ("bug tags", "SELECT count(*) FROM cur_tag WHERE name = 'bug'"),
    ];
    let missing: Vec<&str> = checks
        .iter()
        .filter(|(_, sql)| with_tags(sql) == 0)
        .map(|(what, _)| *what)
        .collect();
    assert!(missing.is_empty(), "missing cases: {missing:?}");

    // Tags follow the conversation's topic: no outage outside the dashboard outage, billing tags
    // only on billing questions, no tag on an outbound conversation.
    let inconsistent: &[(&str, &str)] = &[
        (
            "outage on another topic",
            "SELECT count(*) FROM cur_tag t JOIN conv c ON c.id = t.conversation_id \
             WHERE t.name = 'outage' AND c.source_body NOT LIKE '%dashboards are stuck%'",
        ),
        (
            "billing tag on a non-billing question",
            "SELECT count(*) FROM cur_tag t JOIN conv c ON c.id = t.conversation_id \
             WHERE t.name IN ('billing', 'refund') AND c.source_body NOT SIMILAR TO '.*(charged|invoice|renewal|upgrade|cancel).*'",
        ),
        (
            "tagged outbound conversation",
            "SELECT count(*) FROM cur_tag t JOIN conv c ON c.id = t.conversation_id \
             WHERE c.source_delivered_as <> 'customer_initiated' AND t.name <> 'legacy-queue'",
        ),
    ];
    for (what, sql) in inconsistent {
        assert_eq!(with_tags(sql), 0, "{what}");
    }
}
