//! Deterministic sample data for the Intercom support-metrics project.
//!
//! [`generate_intercom`] writes thirteen source tables into a schema: the seven of `intercom.md`
//! §4 in the shape the Fivetran Intercom connector lands them, plus the connector's
//! `team_admin` (teammates in several teams), `tag` and `conversation_tag_history`, and three
//! tables from other pipelines (`article_view`, `content_receipt` and `help_center_event`, the
//! help-center landings and searches of the support funnel), together with
//! `tally_sample_metadata` holding the data cut-off (`as_of`).
//!
//! Everything is a pure function of the seed and the conversation count: no wall clock, no
//! global RNG, and a hand-rolled PRNG so that dependency upgrades cannot change the rows.
//! The calendar is fixed: traffic from 2026-01-01, cut-off at 2026-06-30 23:59:59 (the last
//! hourly Fivetran sync).
//!
//! The rows are streamed through DuckDB appenders, contact by contact: memory stays flat
//! whatever the volume.

mod clock;
mod conv;
mod membership;
mod people;
mod rating;
mod rng;
mod sink;
mod tags;
mod world;

#[cfg(test)]
mod tests;

use duckdb::Connection;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use self::sink::{Sink, TABLES};
use self::world::{World, AS_OF, START};

/// Options of [`generate_intercom`].
#[derive(Clone, Debug)]
pub struct SampleOptions {
    /// Number of conversations (1,000 to 10,000,000).
    pub conversations: usize,
    pub seed: u64,
    /// Target schema (created if missing; the tables are replaced).
    pub schema: String,
    /// Show a progress bar on stderr.
    pub progress: bool,
}

impl Default for SampleOptions {
    fn default() -> Self {
        SampleOptions {
            conversations: 10_000,
            seed: 42,
            schema: "intercom".to_string(),
            progress: false,
        }
    }
}

/// What [`generate_intercom`] wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SampleSummary {
    /// The data cut-off, `YYYY-MM-DD HH:MM:SS` (UTC): no timestamp in the data is later.
    pub as_of: String,
    /// Table name and row count, in creation order.
    pub tables: Vec<(String, u64)>,
}

pub const MIN_CONVERSATIONS: usize = 1_000;
pub const MAX_CONVERSATIONS: usize = 10_000_000;
/// Name of the metadata table written next to the data.
pub const METADATA_TABLE: &str = "tally_sample_metadata";
/// The project's day time spine (dbt's `metricflow_time_spine`: one `date_day` per day of 2025
/// to 2027), written next to the data for the offset metrics; it depends on nothing random.
pub const TIME_SPINE_TABLE: &str = "metricflow_time_spine";
/// Bumped whenever the generated rows change for a given seed.
pub const GENERATOR_VERSION: &str = "5";

const DDL: &str = r#"
CREATE OR REPLACE TABLE {s}.conversation_history (
  id VARCHAR, updated_at TIMESTAMP, created_at TIMESTAMP,
  state VARCHAR, open BOOLEAN, read BOOLEAN, priority VARCHAR, title VARCHAR,
  waiting_since TIMESTAMP, snoozed_until TIMESTAMP,
  assignee_id VARCHAR, team_assignee_id VARCHAR,
  source_id VARCHAR, source_type VARCHAR, source_delivered_as VARCHAR,
  source_author_id VARCHAR, source_author_type VARCHAR, source_subject VARCHAR, source_body VARCHAR,
  first_contact_reply_created_at TIMESTAMP, first_contact_reply_type VARCHAR,
  conversation_rating_value INTEGER, conversation_rating_remark VARCHAR,
  conversation_rating_created_at TIMESTAMP, conversation_rating_contact_id VARCHAR,
  conversation_rating_teammate_id VARCHAR,
  statistics_first_contact_reply_at TIMESTAMP, statistics_first_admin_reply_at TIMESTAMP,
  statistics_first_close_at TIMESTAMP, statistics_last_close_at TIMESTAMP,
  statistics_time_to_admin_reply BIGINT, statistics_time_to_first_close BIGINT,
  statistics_time_to_last_close BIGINT,
  statistics_count_reopens INTEGER, statistics_last_closed_by_id VARCHAR,
  ai_agent_participated BOOLEAN, ai_agent_resolution_state VARCHAR,
  _fivetran_start TIMESTAMP, _fivetran_end TIMESTAMP, _fivetran_active BOOLEAN, _fivetran_synced TIMESTAMP);
CREATE OR REPLACE TABLE {s}.conversation_part_history (
  id VARCHAR, conversation_id VARCHAR, conversation_updated_at TIMESTAMP,
  part_type VARCHAR, body VARCHAR, author_id VARCHAR, author_type VARCHAR,
  assigned_to_id VARCHAR, assigned_to_type VARCHAR,
  created_at TIMESTAMP, updated_at TIMESTAMP, notified_at TIMESTAMP,
  _fivetran_start TIMESTAMP, _fivetran_end TIMESTAMP, _fivetran_active BOOLEAN, _fivetran_synced TIMESTAMP);
CREATE OR REPLACE TABLE {s}.conversation_contact_history (
  conversation_id VARCHAR, contact_id VARCHAR, conversation_updated_at TIMESTAMP,
  _fivetran_start TIMESTAMP, _fivetran_end TIMESTAMP, _fivetran_active BOOLEAN, _fivetran_synced TIMESTAMP);
CREATE OR REPLACE TABLE {s}.contact_history (
  id VARCHAR, updated_at TIMESTAMP, created_at TIMESTAMP, role VARCHAR, email VARCHAR, name VARCHAR,
  external_id VARCHAR, signed_up_at TIMESTAMP, last_seen_at TIMESTAMP, last_replied_at TIMESTAMP,
  unsubscribed_from_emails BOOLEAN,
  _fivetran_start TIMESTAMP, _fivetran_end TIMESTAMP, _fivetran_active BOOLEAN, _fivetran_synced TIMESTAMP);
CREATE OR REPLACE TABLE {s}.admin (
  id VARCHAR, name VARCHAR, email VARCHAR, job_title VARCHAR,
  _fivetran_deleted BOOLEAN, _fivetran_synced TIMESTAMP);
CREATE OR REPLACE TABLE {s}.team (
  id VARCHAR, name VARCHAR, _fivetran_deleted BOOLEAN, _fivetran_synced TIMESTAMP);
CREATE OR REPLACE TABLE {s}.article_history (
  id VARCHAR, title VARCHAR, state VARCHAR, collection_id VARCHAR, author_id VARCHAR, url VARCHAR,
  created_at TIMESTAMP, updated_at TIMESTAMP,
  statistics_views INTEGER, statistics_conversations INTEGER, statistics_reactions INTEGER,
  statistics_happy_reaction_percentage DOUBLE,
  _fivetran_start TIMESTAMP, _fivetran_end TIMESTAMP, _fivetran_active BOOLEAN, _fivetran_synced TIMESTAMP);
CREATE OR REPLACE TABLE {s}.article_view (
  id VARCHAR, article_id VARCHAR, contact_id VARCHAR, anonymous_id VARCHAR,
  session_id VARCHAR, viewed_at TIMESTAMP, channel VARCHAR,
  reaction VARCHAR, _fivetran_synced TIMESTAMP);
CREATE OR REPLACE TABLE {s}.content_receipt (
  receipt_id VARCHAR, user_id VARCHAR, user_external_id VARCHAR,
  ruleset_id VARCHAR, ruleset_version_id VARCHAR, content_id VARCHAR,
  content_type VARCHAR,
  content_title VARCHAR, series_id VARCHAR, series_title VARCHAR,
  received_at TIMESTAMP, first_open TIMESTAMP, first_click TIMESTAMP, first_reply TIMESTAMP,
  first_completion TIMESTAMP, first_dismisall TIMESTAMP,
  first_unsubscribe TIMESTAMP, first_hard_bounce TIMESTAMP, first_reaction TIMESTAMP,
  _fivetran_synced TIMESTAMP);
CREATE OR REPLACE TABLE {s}.help_center_event (
  id VARCHAR, event_type VARCHAR, contact_id VARCHAR, anonymous_id VARCHAR,
  session_id VARCHAR, occurred_at TIMESTAMP, channel VARCHAR,
  search_query VARCHAR, results_count INTEGER, _fivetran_synced TIMESTAMP);
CREATE OR REPLACE TABLE {s}.team_admin (
  team_id VARCHAR, admin_id VARCHAR, _fivetran_deleted BOOLEAN, _fivetran_synced TIMESTAMP);
CREATE OR REPLACE TABLE {s}.tag (
  id VARCHAR, name VARCHAR, _fivetran_deleted BOOLEAN, _fivetran_synced TIMESTAMP);
CREATE OR REPLACE TABLE {s}.conversation_tag_history (
  conversation_id VARCHAR, tag_id VARCHAR, conversation_updated_at TIMESTAMP,
  _fivetran_start TIMESTAMP, _fivetran_end TIMESTAMP, _fivetran_active BOOLEAN, _fivetran_synced TIMESTAMP);
CREATE OR REPLACE TABLE {s}.tally_sample_metadata (key VARCHAR, value VARCHAR);
"#;

fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn invalid(msg: String) -> duckdb::Error {
    duckdb::Error::ToSqlConversionFailure(msg.into())
}

/// Generate the Intercom sample data set into `opts.schema`.
///
/// Deterministic: the same `seed` and `conversations` give the same rows, in the same order.
/// Existing tables of the same names in the schema are replaced; on error the tables are
/// dropped again (best effort). Two writer threads share the work, each on its own
/// connection to the database of `conn` (so `conn` must not be inside an open transaction);
/// DuckDB's `threads` setting is 1 while they run and is restored afterwards.
pub fn generate_intercom(
    conn: &Connection,
    opts: &SampleOptions,
) -> Result<SampleSummary, duckdb::Error> {
    if !(MIN_CONVERSATIONS..=MAX_CONVERSATIONS).contains(&opts.conversations) {
        return Err(invalid(format!(
            "sample conversations must be between {MIN_CONVERSATIONS} and {MAX_CONVERSATIONS}, got {}",
            opts.conversations
        )));
    }
    if opts.schema.is_empty() {
        return Err(invalid("sample schema name must not be empty".into()));
    }
    let schema = quote_ident(&opts.schema);
    conn.execute_batch(&format!("CREATE SCHEMA IF NOT EXISTS {schema};"))?;
    conn.execute_batch(&DDL.replace("{s}", &schema))?;
    // Our two writer threads already keep both cores busy; DuckDB's own worker threads would
    // only spin waiting for appender flushes. Restore the user's setting afterwards.
    let threads: Option<String> = conn
        .query_row("SELECT current_setting('threads')::VARCHAR", [], |r| {
            r.get(0)
        })
        .ok();
    conn.execute_batch("SET threads = 1")?;
    let result = fill(conn, opts, &schema);
    if let Some(t) = threads.and_then(|t| t.parse::<u64>().ok()) {
        let _ = conn.execute_batch(&format!("SET threads = {t}"));
    }
    if result.is_err() {
        for t in TABLES.iter().chain([&METADATA_TABLE, &TIME_SPINE_TABLE]) {
            let _ = conn.execute_batch(&format!("DROP TABLE IF EXISTS {schema}.{t}"));
        }
    }
    result
}

fn fill(
    conn: &Connection,
    opts: &SampleOptions,
    schema: &str,
) -> Result<SampleSummary, duckdb::Error> {
    let bar = if opts.progress {
        let bar = ProgressBar::with_draw_target(
            Some(opts.conversations as u64),
            ProgressDrawTarget::stderr(),
        );
        if let Ok(style) = ProgressStyle::with_template(
            "{msg} [{elapsed_precise}] {wide_bar} {human_pos}/{human_len} conversations ({eta})",
        ) {
            bar.set_style(style);
        }
        bar.set_message("generating intercom sample");
        Some(bar)
    } else {
        None
    };

    let world = World::new(opts.seed, opts.conversations);
    let second = conn.try_clone()?;
    let (tx, rx) = std::sync::mpsc::sync_channel(16);
    let counts = std::thread::scope(|scope| {
        let writer = scope.spawn(move || sink::remote_writer(second, &opts.schema, rx));
        let local = (|| {
            let mut sink = Sink::new(conn, &opts.schema, Some(tx))?;
            let mut gen = people::Gen::new(&world, opts.seed);
            gen.write_directory(&mut sink)?;
            let mut shown = 0usize;
            gen.run(&mut sink, opts.conversations, |n| {
                if let Some(bar) = &bar {
                    if n >= shown + 1000 || n == opts.conversations {
                        bar.set_position(n as u64);
                        shown = n;
                    }
                }
            })?;
            gen.write_articles(&mut sink)?;
            sink.finish()
        })();
        let remote = writer
            .join()
            .unwrap_or_else(|_| Err(invalid("sample: the second writer thread panicked".into())));
        // The writer's own error explains a failed hand-over better than "thread stopped".
        match (local, remote) {
            (Ok(counts), Ok(())) => Ok(counts),
            (_, Err(e)) | (Err(e), Ok(())) => Err(e),
        }
    })?;
    if let Some(bar) = &bar {
        bar.finish_with_message("generated intercom sample");
    }

    let as_of = clock::fmt_ts(AS_OF);
    let meta = [
        ("as_of", as_of.clone()),
        ("window_start", clock::fmt_ts(START)),
        ("seed", opts.seed.to_string()),
        ("conversations", opts.conversations.to_string()),
        ("generator", "tally-duckdb sample".to_string()),
        ("generator_version", GENERATOR_VERSION.to_string()),
    ];
    let mut stmt = conn.prepare(&format!(
        "INSERT INTO {schema}.{METADATA_TABLE} VALUES (?, ?)"
    ))?;
    for (k, v) in &meta {
        stmt.execute([k, v.as_str()])?;
    }
    conn.execute_batch(&format!(
        "CREATE OR REPLACE TABLE {schema}.{TIME_SPINE_TABLE} AS \
         SELECT CAST(d AS DATE) AS date_day \
         FROM range(DATE '2025-01-01', DATE '2028-01-01', INTERVAL 1 DAY) AS spine(d)"
    ))?;

    Ok(SampleSummary {
        as_of,
        tables: TABLES
            .iter()
            .zip(counts)
            .map(|(t, n)| (t.to_string(), n))
            .collect(),
    })
}
