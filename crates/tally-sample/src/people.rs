//! Contacts and everything that hangs off them: their conversations (in order, some coming
//! back within days), help-center sessions, outbound receipts, and the contact history.

use super::clock::{day_start, hour_of, weekday, DAY, HOUR, MIN};
use super::conv::{simulate, Chan, Conv, People, ReceiptReq, Replay};
use super::rng::{mix64, Rng};
use super::sink::{
    sst, st, ts, Id, Sink, T_ADMIN, T_ARTICLE, T_CONTACT, T_RECEIPT, T_TEAM, T_VIEW, V,
};
use super::world::*;

#[path = "funnel.rs"]
mod funnel;
use funnel::{Person, FUNNEL_STREAM};

#[derive(Clone, Copy)]
enum Change {
    Replied(i64),
    Seen(i64),
    SignedUp,
    Unsubscribed,
}

struct Contact {
    id: Id,
    anon: u64,
    lead: bool,
    created: i64,
    name: Option<String>,
    email: Option<String>,
    external_id: Option<String>,
    signed_up_at: Option<i64>,
    /// A lead until this time (`i64::MAX` if it never converts; `i64::MIN` for users).
    lead_until: i64,
    bad_email: bool,
    changes: Vec<(i64, Change)>,
}

/// Per-article, per-day counters behind the `article_history` statistics snapshots.
struct ArticleStats {
    days: usize,
    views: Vec<u32>,
    reactions: Vec<[u32; 3]>,
    conversations: Vec<u32>,
}

pub(crate) struct Gen<'w> {
    w: &'w World,
    seed: u64,
    next_conv: u64,
    next_part: u64,
    next_view: u64,
    next_session: u64,
    next_receipt: u64,
    next_contact: u64,
    next_anon: u64,
    next_event: u64,
    next_event_session: u64,
    /// The support-funnel events' own stream, reseeded per contact (see `funnel`).
    funnel: Rng,
    replay: Replay,
    stats: ArticleStats,
    pub conversations: usize,
}

const REACTIONS: [&str; 3] = ["happy", "neutral", "sad"];

impl Contact {
    fn person(&self) -> Person {
        Person {
            contact: Some((self.id, self.created)),
            anon: self.anon,
        }
    }
}

impl<'w> Gen<'w> {
    pub(crate) fn new(w: &'w World, seed: u64) -> Gen<'w> {
        let days = w.days as usize;
        let n = w.articles.len() * days;
        Gen {
            w,
            seed,
            next_conv: 0,
            next_part: 0,
            next_view: 0,
            next_session: 0,
            next_receipt: 0,
            next_contact: 0,
            next_anon: 0,
            next_event: 0,
            next_event_session: 0,
            funnel: Rng::new(seed ^ FUNNEL_STREAM, u64::MAX),
            replay: Replay::new(),
            stats: ArticleStats {
                days,
                views: vec![0; n],
                reactions: vec![[0; 3]; n],
                conversations: vec![0; n],
            },
            conversations: 0,
        }
    }

    /// Generate contacts until `target` conversations have been written.
    pub(crate) fn run(
        &mut self,
        sink: &mut Sink<'_>,
        target: usize,
        mut progress: impl FnMut(usize),
    ) -> duckdb::Result<()> {
        let mut k = 0u64;
        while self.conversations < target {
            let rng = Rng::new(self.seed, k);
            self.funnel = Rng::new(self.seed ^ FUNNEL_STREAM, k);
            k += 1;
            let anonymous = rng.poisson(0.8);
            for _ in 0..anonymous {
                self.anonymous_session(&rng, sink)?;
            }
            let anon = self.anon_value_funnel();
            self.bounces(
                sink,
                Person {
                    contact: None,
                    anon,
                },
                0.6,
            )?;
            if rng.chance(0.3) {
                self.silent_contact(&rng, sink)?;
            } else {
                self.active_contact(&rng, sink, target)?;
                progress(self.conversations);
            }
        }
        Ok(())
    }

    fn new_contact(&mut self, rng: &Rng, created: i64, lead: bool) -> Contact {
        let k = self.next_contact;
        self.next_contact += 1;
        let id = Id::object_id(created, mix64(k ^ mix64(self.seed)));
        let first = *rng.pick(&FIRST_NAMES);
        let last = *rng.pick(&LAST_NAMES);
        let domain = *rng.pick(&DOMAINS);
        let email = format!(
            "{}.{}{}@{domain}",
            first.to_lowercase(),
            last.to_lowercase().replace('ü', "ue"),
            k % 997
        );
        let (name, email, external_id, signed_up_at) = if lead {
            let email = rng.chance(0.5).then_some(email);
            let name = rng.chance(0.3).then(|| format!("{first} {last}"));
            (name, email, None, None)
        } else {
            let signed = created + rng.range(0, 600);
            (
                Some(format!("{first} {last}")),
                Some(email),
                Some(format!("usr_{:010}", mix64(k ^ 0x5eed) % 10_000_000_000)),
                Some(signed),
            )
        };
        Contact {
            id,
            anon: self.anon_value(),
            lead,
            created,
            name,
            email,
            external_id,
            signed_up_at,
            lead_until: if lead { i64::MAX } else { i64::MIN },
            bad_email: rng.chance(if lead { 0.07 } else { 0.025 }),
            changes: Vec::new(),
        }
    }

    /// An anonymous visitor of the funnel's own: not drawn from `next_anon`, so the other
    /// visitors keep their cookies.
    fn anon_value_funnel(&mut self) -> u64 {
        let v = mix64(self.next_event_session ^ mix64(self.seed ^ FUNNEL_STREAM ^ 0xa11));
        self.next_event_session += 1;
        v
    }

    fn anon_value(&mut self) -> u64 {
        let v = mix64(self.next_anon ^ mix64(self.seed ^ 0xa11));
        self.next_anon += 1;
        v
    }

    fn silent_contact(&mut self, rng: &Rng, sink: &mut Sink<'_>) -> duckdb::Result<()> {
        let created = rng.range(START - 500 * DAY, AS_OF - HOUR);
        let lead = rng.chance(0.3);
        let mut c = self.new_contact(rng, created, lead);
        self.own_sessions(rng, sink, &mut c, 0.8)?;
        self.bounces(sink, c.person(), 0.5)?;
        self.receipts(rng, sink, &mut c, Vec::new())?;
        self.write_contact(sink, &mut c)
    }

    fn active_contact(
        &mut self,
        rng: &Rng,
        sink: &mut Sink<'_>,
        target: usize,
    ) -> duckdb::Result<()> {
        let w = self.w;
        let first = w.inbound_time(rng);
        let lead = rng.chance(0.22);
        let created = if lead {
            first - rng.range(5, 300)
        } else {
            first - (rng.lognormal(90.0 * DAY as f64, 1.2) as i64).clamp(HOUR, 900 * DAY)
        };
        let mut c = self.new_contact(rng, created, lead);
        if lead && rng.chance(0.2) {
            let t = first + HOUR + rng.exp(5.0 * DAY as f64) as i64;
            if t <= AS_OF {
                c.lead_until = t;
                c.signed_up_at = Some(t);
                c.changes.push((t, Change::SignedUp));
            }
        }
        let mut receipts = Vec::new();
        let mut t = first;
        for _ in 0..8 {
            let is_lead = t < c.lead_until;
            let id = 215_470_000_000 + self.next_conv;
            let mut conv = simulate(w, rng, id, t, is_lead, 0.05);
            if conv.visible_from > AS_OF {
                break;
            }
            self.next_conv += 1;
            let colleague = if conv.cc {
                let mut cc = self.new_contact(rng, c.created - rng.range(DAY, 60 * DAY), false);
                self.write_contact(sink, &mut cc)?;
                Some(cc.id)
            } else {
                None
            };
            if conv.inbound() {
                self.pre_conversation_session(rng, sink, &mut c, &conv)?;
                let who = c.person();
                self.search_before_conversation(sink, who, conv.created, conv.chan, conv.topic)?;
            }
            let people = People {
                contact: &c.id,
                lead_until: c.lead_until,
                cc: colleague.as_ref(),
            };
            let reemit = rng.chance(0.4);
            self.replay
                .write(w, &conv, &people, &mut self.next_part, reemit, sink)?;
            for v in &conv.views {
                let sid = self.session_id();
                let anon = c.anon;
                self.view(
                    rng,
                    sink,
                    Some(&mut c),
                    anon,
                    sid,
                    v.t,
                    v.article,
                    "messenger",
                )?;
            }
            if let Some(r) = conv.receipt.take() {
                receipts.push(r);
            }
            if let Some(tr) = conv.last_customer_message() {
                c.changes.push((tr, Change::Replied(tr)));
            }
            self.conversations += 1;
            if self.conversations >= target || !rng.chance(conv.outcome.return_p()) {
                break;
            }
            let gap = if rng.chance(0.65) {
                HOUR + rng.exp(2.0 * DAY as f64) as i64
            } else {
                rng.range(7 * DAY, 45 * DAY)
            };
            t = conv.last_seen_event() + gap;
            // People come back on their own rhythm: mostly on working days, in the daytime.
            if weekday(t) >= 5 && rng.chance(0.6) {
                t = day_start(t) + (7 - weekday(t)) * DAY + rng.range(8 * HOUR, 17 * HOUR);
            } else if hour_of(t) < 6 && rng.chance(0.7) {
                t = day_start(t) + rng.range(8 * HOUR, 12 * HOUR);
            }
            if t > AS_OF {
                break;
            }
        }
        let lambda = if lead { 0.3 } else { 1.1 };
        self.own_sessions(rng, sink, &mut c, lambda)?;
        self.bounces(sink, c.person(), lambda * 0.5)?;
        self.receipts(rng, sink, &mut c, receipts)?;
        self.write_contact(sink, &mut c)
    }

    fn session_id(&mut self) -> Id {
        let s = self.next_session;
        self.next_session += 1;
        Id::hex("s-", mix64(s ^ mix64(self.seed ^ 0x5e55)))
    }

    /// The customer looked for an answer in the help center first, and then wrote in.
    fn pre_conversation_session(
        &mut self,
        rng: &Rng,
        sink: &mut Sink<'_>,
        c: &mut Contact,
        conv: &Conv,
    ) -> duckdb::Result<()> {
        let p = match conv.chan {
            Chan::Chat => 0.35,
            Chan::Email => 0.2,
            Chan::Phone => 0.1,
        };
        if !rng.chance(p) {
            return Ok(());
        }
        let n = 1 + rng.geometric(0.6) as i64;
        let span = (n - 1) * 4 * MIN;
        let lead_time = (rng.lognormal(25.0 * MIN as f64, 1.0) as i64).clamp(2 * MIN, 12 * HOUR);
        let mut t = conv.created - lead_time - span;
        let channel = if conv.chan == Chan::Chat && rng.chance(0.5) {
            "messenger"
        } else {
            "help_center"
        };
        let collection = TOPICS[conv.topic].collection;
        let sid = self.session_id();
        let anon = c.anon;
        self.before_views(sink, c.person(), sid, t, channel)?;
        let mut last_article = None;
        for _ in 0..n {
            let a = self.w.pick_article(Some(collection), rng);
            if self.view(rng, sink, Some(c), anon, sid, t, a, channel)? {
                last_article = Some((a, t));
            }
            t += rng.range(20, 4 * MIN);
        }
        if let Some((a, t)) = last_article {
            if let Some(d) = self.day_index(t) {
                self.stats.conversations[a * self.stats.days + d] += 1;
            }
        }
        Ok(())
    }

    /// Help-center sessions of a contact that are not tied to a conversation.
    fn own_sessions(
        &mut self,
        rng: &Rng,
        sink: &mut Sink<'_>,
        c: &mut Contact,
        lambda: f64,
    ) -> duckdb::Result<()> {
        let n = rng.poisson(lambda);
        for _ in 0..n {
            let mut start = None;
            for _ in 0..3 {
                let t = self.w.inbound_time(rng);
                if t > c.created + MIN {
                    start = Some(t);
                    break;
                }
            }
            let Some(mut t) = start else { continue };
            let channel = if rng.chance(0.3) {
                "messenger"
            } else {
                "help_center"
            };
            let sid = self.session_id();
            let mut collection = None;
            let views = 1 + rng.geometric(0.8);
            let anon = c.anon;
            self.before_views(sink, c.person(), sid, t, channel)?;
            for _ in 0..views {
                let a = self.w.pick_article(collection, rng);
                collection = Some(self.w.articles[a].collection);
                self.view(rng, sink, Some(c), anon, sid, t, a, channel)?;
                t += rng.range(20, 5 * MIN);
            }
        }
        Ok(())
    }

    fn anonymous_session(&mut self, rng: &Rng, sink: &mut Sink<'_>) -> duckdb::Result<()> {
        let mut t = self.w.inbound_time(rng);
        let anon = self.anon_value();
        let sid = self.session_id();
        let views = 1 + rng.geometric(0.5);
        let mut collection = None;
        let who = Person {
            contact: None,
            anon,
        };
        self.before_views(sink, who, sid, t, "help_center")?;
        for _ in 0..views {
            let a = self.w.pick_article(collection, rng);
            collection = Some(self.w.articles[a].collection);
            self.view(rng, sink, None, anon, sid, t, a, "help_center")?;
            t += rng.range(20, 5 * MIN);
        }
        Ok(())
    }

    fn day_index(&self, t: i64) -> Option<usize> {
        (START..=AS_OF)
            .contains(&t)
            .then(|| ((t - START) / DAY) as usize)
    }

    /// One article view; returns whether it was recorded.
    #[allow(clippy::too_many_arguments)]
    fn view(
        &mut self,
        rng: &Rng,
        sink: &mut Sink<'_>,
        contact: Option<&mut Contact>,
        anon: u64,
        session: Id,
        t: i64,
        article: usize,
        channel: &'static str,
    ) -> duckdb::Result<bool> {
        let Some(d) = self.day_index(t) else {
            return Ok(false);
        };
        let art = &self.w.articles[article];
        if art.published_at.is_none_or(|p| p > t) {
            return Ok(false);
        }
        let reaction = if rng.chance(0.1) {
            Some(if rng.chance(art.happy_share) {
                0
            } else if rng.chance(0.4) {
                1
            } else {
                2
            })
        } else {
            None
        };
        let idx = article * self.stats.days + d;
        self.stats.views[idx] += 1;
        if let Some(r) = reaction {
            self.stats.reactions[idx][r] += 1;
        }
        let id = Id::dec(70_000_000_000 + self.next_view);
        self.next_view += 1;
        let art_id = Id::dec(art.id);
        let anon_id = Id::hex("anon-", anon);
        let contact_id = match contact {
            Some(c) if t >= c.created => {
                // Only the messenger reports to Intercom; the public help center does not
                // move the contact's last_seen_at.
                if channel == "messenger" {
                    c.changes.push((t, Change::Seen(t)));
                }
                Some(c.id)
            }
            _ => None,
        };
        sink.row(
            T_VIEW,
            &[
                V::S(id.as_str()),
                V::S(art_id.as_str()),
                contact_id.as_ref().map_or(V::Null, |x| V::S(x.as_str())),
                V::S(anon_id.as_str()),
                V::S(session.as_str()),
                V::T(t),
                V::St(channel),
                reaction.map_or(V::Null, |r| V::St(REACTIONS[r])),
                V::T(sync_of(t)),
            ],
        )?;
        Ok(true)
    }

    fn receipts(
        &mut self,
        rng: &Rng,
        sink: &mut Sink<'_>,
        c: &mut Contact,
        outbound: Vec<ReceiptReq>,
    ) -> duckdb::Result<()> {
        let mut list: Vec<(i64, usize, Option<i64>)> = outbound
            .iter()
            .map(|r| (r.received, r.content, Some(r.reply)))
            .collect();
        for (k, content) in CONTENTS.iter().enumerate() {
            let email = content.content_type == "email";
            if email && c.email.is_none() {
                continue;
            }
            match content.kind {
                ContentKind::Broadcast(t, share) => {
                    let share = if c.lead { share * 0.5 } else { share };
                    if c.created < t && rng.chance(share) {
                        list.push((t + rng.range(0, 1800), k, None));
                    }
                }
                ContentKind::AfterSignup(after) => {
                    let p = if content.series.is_some_and(|s| s.1 == "Trial conversion") {
                        0.5
                    } else {
                        0.9
                    };
                    if !c.lead && c.created >= START && rng.chance(p) {
                        list.push((c.created + after + rng.range(0, 600), k, None));
                    }
                }
                ContentKind::Random(p) => {
                    if rng.chance(p) {
                        let t = rng.range(c.created.max(START), AS_OF);
                        list.push((t, k, None));
                    }
                }
                ContentKind::Manual => {}
            }
        }
        list.sort_by_key(|x| (x.0, x.1));
        let (mut bounced, mut unsubscribed) = (false, false);
        let ext = c.external_id.clone();
        for (t, k, reply) in list {
            if !(START..=AS_OF).contains(&t) {
                continue;
            }
            let content = &CONTENTS[k];
            let email = content.content_type == "email";
            if email && reply.is_none() && (bounced || unsubscribed) {
                continue; // Intercom stops emailing bounced or unsubscribed addresses
            }
            let mut f = [None::<i64>; 7]; // open, click, reply, completion, dismissal, unsubscribe, bounce
            let after =
                |rng: &Rng, from: i64, median: f64| from + 1 + rng.lognormal(median, 1.2) as i64;
            if let Some(r) = reply {
                f[0] = Some((t + 1).max(r - rng.range(60, 3600)).min(r));
                f[2] = Some(r);
            } else if email && c.bad_email {
                f[6] = Some(t + rng.range(2, 40));
                bounced = true;
            } else {
                let (p_open, p_click, p_reply, p_complete, p_dismiss, p_unsub) =
                    match content.content_type {
                        "email" => (0.45, 0.25, 0.02, 0.0, 0.0, 0.012),
                        "chat" => (0.70, 0.05, 0.05, 0.0, 0.20, 0.0),
                        "post" => (0.55, 0.10, 0.01, 0.0, 0.30, 0.0),
                        "push" => (0.12, 0.0, 0.0, 0.0, 0.0, 0.0),
                        "banner" => (0.60, 0.03, 0.0, 0.0, 0.18, 0.0),
                        "tour" => (0.80, 0.0, 0.0, 0.35, 0.40, 0.0),
                        _ => (0.60, 0.0, 0.0, 0.25, 0.30, 0.0),
                    };
                if rng.chance(p_open) {
                    let open = after(rng, t, 2.0 * 3600.0);
                    f[0] = Some(open);
                    if rng.chance(p_click) {
                        f[1] = Some(after(rng, open, 120.0));
                    }
                    if rng.chance(p_reply) {
                        f[2] = Some(after(rng, open, 600.0));
                    }
                    if rng.chance(p_complete) {
                        f[3] = Some(after(rng, open, 180.0));
                    } else if rng.chance(p_dismiss) {
                        f[4] = Some(after(rng, open, 20.0));
                    }
                    if rng.chance(p_unsub) {
                        let u = after(rng, open, 60.0);
                        f[5] = Some(u);
                        if u <= AS_OF {
                            unsubscribed = true;
                            c.changes.push((u, Change::Unsubscribed));
                        }
                    }
                }
            }
            for x in f.iter_mut() {
                if x.is_some_and(|v| v > AS_OF) {
                    *x = None;
                }
            }
            let reaction = self.reaction(self.next_receipt, content.content_type, f[0]);
            let last = f
                .iter()
                .chain(&[reaction])
                .flatten()
                .copied()
                .fold(t, i64::max);
            let id = Id::dec(880_000_000 + self.next_receipt);
            self.next_receipt += 1;
            let ruleset = Id::dec(content.ruleset_id);
            let version =
                Id::dec(content.ruleset_id * 100 + if t < START + 90 * DAY { 1 } else { 2 });
            let content_id = Id::dec(content.id);
            let series_id = content.series.map(|s| Id::dec(s.0));
            sink.row(
                T_RECEIPT,
                &[
                    V::S(id.as_str()),
                    V::S(c.id.as_str()),
                    st(ext.as_deref()),
                    V::S(ruleset.as_str()),
                    V::S(version.as_str()),
                    V::S(content_id.as_str()),
                    V::St(content.content_type),
                    V::St(content.title),
                    V::S(series_id.as_ref().map_or("-1", |s| s.as_str())),
                    sst(content.series.map(|s| s.1)),
                    V::T(t),
                    ts(f[0]),
                    ts(f[1]),
                    ts(f[2]),
                    ts(f[3]),
                    ts(f[4]),
                    ts(f[5]),
                    ts(f[6]),
                    ts(reaction),
                    V::T(sync_of(last)),
                ],
            )?;
        }
        Ok(())
    }

    /// `contact_history`: one version per sync that saw a change.
    fn write_contact(&mut self, sink: &mut Sink<'_>, c: &mut Contact) -> duckdb::Result<()> {
        c.changes.retain(|x| x.0 <= AS_OF && x.0 >= c.created);
        c.changes.sort_by_key(|x| x.0);
        #[derive(Clone, Copy)]
        struct Snap {
            updated_at: i64,
            lead: bool,
            signed: bool,
            last_seen: Option<i64>,
            last_replied: Option<i64>,
            unsub: bool,
        }
        let mut snaps: Vec<Snap> = Vec::with_capacity(c.changes.len() + 1);
        let mut cur = Snap {
            updated_at: c.created,
            lead: c.lead,
            signed: !c.lead,
            last_seen: Some(c.created),
            last_replied: None,
            unsub: false,
        };
        let mut slot = sync_of(c.created);
        for &(t, ch) in c.changes.iter() {
            if sync_of(t) != slot {
                snaps.push(cur);
            }
            slot = sync_of(t);
            cur.updated_at = t;
            match ch {
                Change::Replied(r) => {
                    cur.last_replied = Some(r);
                    cur.last_seen = cur.last_seen.max(Some(r));
                }
                Change::Seen(s) => cur.last_seen = cur.last_seen.max(Some(s)),
                Change::SignedUp => {
                    cur.lead = false;
                    cur.signed = true;
                }
                Change::Unsubscribed => cur.unsub = true,
            }
        }
        snaps.push(cur);
        let external_after_signup = c.external_id.clone().or_else(|| {
            c.signed_up_at
                .map(|_| format!("usr_{:010}", mix64(c.anon) % 10_000_000_000))
        });
        let email_after_signup = c.email.clone().or_else(|| {
            c.signed_up_at.map(|_| {
                format!(
                    "{}@{}",
                    &c.id.as_str()[16..],
                    DOMAINS[(c.anon % 13) as usize]
                )
            })
        });
        for (k, s) in snaps.iter().enumerate() {
            let (end, active) = match snaps.get(k + 1) {
                Some(n) => (V::Tu(n.updated_at * 1_000_000 - 1_000), false),
                None => (V::T(END_OF_TIME), true),
            };
            let (email, external, signed) = if s.signed {
                (
                    email_after_signup.as_deref(),
                    external_after_signup.as_deref(),
                    c.signed_up_at,
                )
            } else {
                (c.email.as_deref(), None, None)
            };
            sink.row(
                T_CONTACT,
                &[
                    V::S(c.id.as_str()),
                    V::T(s.updated_at),
                    V::T(c.created),
                    V::S(if s.lead { "lead" } else { "user" }),
                    st(email),
                    st(c.name.as_deref()),
                    st(external),
                    ts(signed),
                    ts(s.last_seen),
                    ts(s.last_replied),
                    V::B(s.unsub),
                    V::T(s.updated_at),
                    end,
                    V::B(active),
                    V::T(sync_of(s.updated_at)),
                ],
            )?;
        }
        Ok(())
    }

    /// `admin`, `team`, `team_admin`, `tag` (non-history tables).
    pub(crate) fn write_directory(&mut self, sink: &mut Sink<'_>) -> duckdb::Result<()> {
        for a in &self.w.admins {
            let id = Id::dec(a.id);
            let synced = a.leave.map_or(AS_OF, sync_of);
            sink.row(
                T_ADMIN,
                &[
                    V::S(id.as_str()),
                    V::S(&a.name),
                    V::S(&a.email),
                    st(a.job_title),
                    V::B(a.deleted),
                    V::T(synced),
                ],
            )?;
        }
        let bot = Id::dec(BOT_ID);
        sink.row(
            T_ADMIN,
            &[
                V::S(bot.as_str()),
                V::S("Fin"),
                V::S("operator+acme@intercom.io"),
                V::Null,
                V::B(false),
                V::T(AS_OF),
            ],
        )?;
        for t in &TEAMS {
            write_named_row(sink, T_TEAM, t.id, t.name, t.deleted)?;
        }
        super::membership::write_team_admin(self.w, sink)?;
        super::tags::write_tags(sink)
    }

    /// `article_history`: the article's own changes plus a statistics snapshot at the end of
    /// every day with activity (cumulative counters, as the API reports them).
    pub(crate) fn write_articles(&mut self, sink: &mut Sink<'_>) -> duckdb::Result<()> {
        let days = self.stats.days;
        for (i, a) in self.w.articles.iter().enumerate() {
            // (time, what): 0 = created, 1 = published, 2 = edited, 3 = day snapshot (+ day)
            let mut evs: Vec<(i64, u8, usize)> = Vec::new();
            let pre = a.created_at < START;
            let initial_published = a.published_at.is_some_and(|p| p < START);
            if pre {
                let t0 = if initial_published {
                    a.published_at.unwrap_or(a.created_at)
                } else {
                    a.created_at
                };
                evs.push((t0, 0, 0));
            } else {
                evs.push((a.created_at, 0, 0));
                if let Some(p) = a.published_at.filter(|p| *p <= AS_OF) {
                    evs.push((p, 1, 0));
                }
            }
            if let Some(e) = a.edited_at.filter(|e| *e <= AS_OF) {
                evs.push((e, 2, 0));
            }
            for d in 0..days {
                let idx = i * days + d;
                if self.stats.views[idx] > 0 || self.stats.conversations[idx] > 0 {
                    evs.push((START + (d as i64 + 1) * DAY - 1, 3, d));
                }
            }
            evs.sort();
            let mut state = if !pre || !initial_published {
                "draft"
            } else {
                "published"
            };
            let mut views = a.base_views;
            let mut convs = a.base_conversations;
            let mut reactions = a.base_reactions;
            let mut rows: Vec<(i64, &str, i64, i64, [i64; 3])> = Vec::new();
            for (t, what, d) in evs {
                match what {
                    1 => state = "published",
                    3 => {
                        let idx = i * days + d;
                        views += i64::from(self.stats.views[idx]);
                        convs += i64::from(self.stats.conversations[idx]);
                        for (r, n) in reactions.iter_mut().zip(self.stats.reactions[idx]) {
                            *r += i64::from(n);
                        }
                    }
                    _ => {}
                }
                if rows.last().is_some_and(|r| r.0 == t) {
                    rows.pop();
                }
                rows.push((t, state, views, convs, reactions));
            }
            let id = Id::dec(a.id);
            let collection = Id::dec(12_000_000 + a.collection as u64);
            let author = Id::dec(self.w.admins[a.author].id);
            let slug: String = a
                .title
                .chars()
                .map(|ch| {
                    if ch.is_ascii_alphanumeric() {
                        ch.to_ascii_lowercase()
                    } else {
                        '-'
                    }
                })
                .collect();
            let url = format!("https://help.acme.io/en/articles/{}-{}", a.id, slug);
            for (k, &(t, state, views, convs, r)) in rows.iter().enumerate() {
                let (end, active) = match rows.get(k + 1) {
                    Some(n) => (V::Tu(n.0 * 1_000_000 - 1_000), false),
                    None => (V::T(END_OF_TIME), true),
                };
                let total: i64 = r.iter().sum();
                let happy = if total > 0 {
                    V::D((r[0] as f64 * 1000.0 / total as f64).round() / 10.0)
                } else {
                    V::Null
                };
                sink.row(
                    T_ARTICLE,
                    &[
                        V::S(id.as_str()),
                        V::S(a.title),
                        V::S(state),
                        V::S(collection.as_str()),
                        V::S(author.as_str()),
                        V::S(&url),
                        V::T(a.created_at),
                        V::T(t),
                        V::I(views as i32),
                        V::I(convs as i32),
                        V::I(total as i32),
                        happy,
                        V::T(t),
                        end,
                        V::B(active),
                        V::T(sync_of(t)),
                    ],
                )?;
            }
        }
        Ok(())
    }
}
