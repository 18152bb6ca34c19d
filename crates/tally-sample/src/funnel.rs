//! The support funnel's extra events (`help_center_event`, `content_receipt.first_reaction`):
//! help-center landings and searches (in the help center and in the Messenger), visits that
//! view no article (people who stop seeking support), searches right before a conversation
//! without an article view, and reactions to outbound messages.
//!
//! Everything here draws from its own random streams (`Gen::funnel`, reseeded per contact, and
//! one stream per receipt), never from the contact's main stream: the rows of the other tables
//! are the same as before these events existed.

use super::super::clock::{DAY, MIN};
use super::super::conv::Chan;
use super::super::rng::{mix64, Rng};
use super::super::sink::{Id, Sink, T_EVENT, V};
use super::super::world::{sync_of, AS_OF, START, TOPICS};
use super::Gen;

/// Salt of the per-contact funnel stream.
pub(super) const FUNNEL_STREAM: u64 = 0x000f_01e1_5e55;
/// Salt of the per-receipt reaction stream.
const REACTION_STREAM: u64 = 0x0004_eac7;

/// Searches that find nothing (a visitor who gives up).
const NO_RESULT_QUERIES: [&str; 6] = [
    "cancel contract early",
    "gdpr dpa pdf",
    "api rate limit 429",
    "sso okta scim",
    "invoice vat number wrong",
    "refund partial month",
];

/// Who acts: a known contact (id and creation time) or only the anonymous cookie.
#[derive(Clone, Copy)]
pub(super) struct Person {
    pub contact: Option<(Id, i64)>,
    pub anon: u64,
}

impl Gen<'_> {
    fn event(
        &mut self,
        sink: &mut Sink<'_>,
        who: Person,
        session: Id,
        t: i64,
        kind: &'static str,
        channel: &'static str,
        search: Option<(&'static str, i32)>,
    ) -> duckdb::Result<()> {
        if !(START..=AS_OF).contains(&t) {
            return Ok(());
        }
        let id = Id::dec(90_000_000_000 + self.next_event);
        self.next_event += 1;
        let anon = Id::hex("anon-", who.anon);
        let contact = who.contact.filter(|(_, created)| t >= *created);
        sink.row(
            T_EVENT,
            &[
                V::S(id.as_str()),
                V::St(kind),
                contact.as_ref().map_or(V::Null, |(c, _)| V::S(c.as_str())),
                V::S(anon.as_str()),
                V::S(session.as_str()),
                V::T(t),
                V::St(channel),
                search.map_or(V::Null, |s| V::St(s.0)),
                search.map_or(V::Null, |s| V::I(s.1)),
                V::T(sync_of(t)),
            ],
        )
    }

    fn topic_query(&self) -> &'static str {
        TOPICS[self.funnel.below(TOPICS.len() as u64) as usize].subject
    }

    /// A visit about to view articles (starting at `first_view`): sometimes it lands on the
    /// help-center home first, sometimes it searches first.
    pub(super) fn before_views(
        &mut self,
        sink: &mut Sink<'_>,
        who: Person,
        session: Id,
        first_view: i64,
        channel: &'static str,
    ) -> duckdb::Result<()> {
        let mut t = first_view;
        if self.funnel.chance(0.3) {
            t -= self.funnel.range(3, 40);
            let q = self.topic_query();
            let hits = self.funnel.range(1, 12) as i32;
            self.event(sink, who, session, t, "search", channel, Some((q, hits)))?;
        }
        if channel == "help_center" && self.funnel.chance(0.5) {
            t -= self.funnel.range(5, 90);
            self.event(sink, who, session, t, "landing", channel, None)?;
        }
        Ok(())
    }

    /// Visits that view no article and start no conversation: a landing, maybe a search that
    /// finds nothing or that the visitor leaves unopened; or a search in the Messenger.
    pub(super) fn bounces(
        &mut self,
        sink: &mut Sink<'_>,
        who: Person,
        lambda: f64,
    ) -> duckdb::Result<()> {
        let n = self.funnel.poisson(lambda);
        for _ in 0..n {
            let t = self.w.inbound_time(&self.funnel);
            let session = self.event_session();
            if self.funnel.chance(0.25) {
                let q = self.topic_query();
                let hits = self.funnel.range(0, 6) as i32;
                self.event(
                    sink,
                    who,
                    session,
                    t,
                    "search",
                    "messenger",
                    Some((q, hits)),
                )?;
                continue;
            }
            self.event(sink, who, session, t, "landing", "help_center", None)?;
            if self.funnel.chance(0.5) {
                let ts = t + self.funnel.range(10, 3 * MIN);
                let search = if self.funnel.chance(0.5) {
                    let k = self.funnel.below(NO_RESULT_QUERIES.len() as u64) as usize;
                    (NO_RESULT_QUERIES[k], 0)
                } else {
                    (self.topic_query(), self.funnel.range(1, 8) as i32)
                };
                self.event(
                    sink,
                    who,
                    session,
                    ts,
                    "search",
                    "help_center",
                    Some(search),
                )?;
            }
        }
        Ok(())
    }

    /// The customer searched (and opened nothing) shortly before starting a conversation.
    pub(super) fn search_before_conversation(
        &mut self,
        sink: &mut Sink<'_>,
        who: Person,
        created: i64,
        chan: Chan,
        topic: usize,
    ) -> duckdb::Result<()> {
        let p = match chan {
            Chan::Chat => 0.12,
            Chan::Email => 0.06,
            Chan::Phone => 0.02,
        };
        if !self.funnel.chance(p) {
            return Ok(());
        }
        let t = created - self.funnel.range(MIN, 30 * MIN);
        let channel = if chan == Chan::Chat && self.funnel.chance(0.6) {
            "messenger"
        } else {
            "help_center"
        };
        let session = self.event_session();
        let hits = self.funnel.range(0, 5) as i32;
        let query = TOPICS[topic].subject;
        self.event(
            sink,
            who,
            session,
            t,
            "search",
            channel,
            Some((query, hits)),
        )
    }

    fn event_session(&mut self) -> Id {
        let s = self.next_event_session;
        self.next_event_session += 1;
        Id::hex("e-", mix64(s ^ mix64(self.seed ^ FUNNEL_STREAM)))
    }

    /// When (if ever) the reader of receipt `receipt` reacted to it (an emoji reaction on a
    /// post, chat or email), given its first open.
    pub(super) fn reaction(
        &self,
        receipt: u64,
        content_type: &str,
        open: Option<i64>,
    ) -> Option<i64> {
        let open = open?;
        let rng = Rng::new(self.seed ^ REACTION_STREAM, receipt);
        let p = match content_type {
            "post" => 0.18,
            "chat" => 0.08,
            "email" => 0.03,
            _ => 0.0,
        };
        let t = open + 1 + rng.lognormal(90.0, 1.0).min(DAY as f64) as i64;
        (rng.chance(p) && t <= AS_OF).then_some(t)
    }
}
