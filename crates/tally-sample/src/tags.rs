//! Conversation tags: the `tag` table and the tag state of each conversation version, written
//! as `conversation_tag_history` links (re-emitted with every version, as Fivetran does).
//!
//! Teammates tag what a conversation is about: the topic's tag when a teammate first acts on
//! it (`bug`, `billing`, `login`, ...), `outage` on dashboard reports during the incident, a
//! second topic tag at the first teammate close for some conversations, `follow-up` while a
//! teammate has snoozed it (removed at the next close: a tag gone from later versions), and
//! `legacy-queue` when the routing Workflow sends it to the Legacy Support team; that tag was
//! deleted with the team, so old links point to a deleted tag (`_fivetran_deleted`).
//!
//! The choices are hashed from the conversation id, never drawn from the conversation's random
//! stream: the other tables keep their rows.

use super::conv::{Conv, Ev, Kind, To, Who};
use super::rng::mix64;
use super::sink::{Id, Sink, T_TAG};
use super::world::*;

pub(crate) struct Tag {
    pub id: u64,
    pub name: &'static str,
    /// Deleted in the workspace (at `LEGACY_END`, with the Legacy Support team).
    pub deleted: bool,
}

const fn tag(id: u64, name: &'static str) -> Tag {
    Tag {
        id,
        name,
        deleted: false,
    }
}

const BUG: usize = 0;
const BILLING_TAG: usize = 1;
const OUTAGE: usize = 2;
const FEATURE_REQUEST: usize = 3;
const LOGIN: usize = 4;
const HOW_TO: usize = 5;
const API: usize = 6;
const INTEGRATION: usize = 7;
const REFUND: usize = 8;
const SALES_LEAD: usize = 9;
const CHURN_RISK: usize = 10;
const FOLLOW_UP: usize = 11;
const LEGACY_QUEUE: usize = 12;

pub(crate) static TAGS: [Tag; 13] = [
    tag(7_120_001, "bug"),
    tag(7_120_002, "billing"),
    tag(7_120_003, "outage"),
    tag(7_120_004, "feature-request"),
    tag(7_120_005, "login"),
    tag(7_120_006, "how-to"),
    tag(7_120_007, "api"),
    tag(7_120_008, "integration"),
    tag(7_120_009, "refund"),
    tag(7_120_010, "sales-lead"),
    tag(7_120_011, "churn-risk"),
    tag(7_120_012, "follow-up"),
    Tag {
        id: 7_119_990,
        name: "legacy-queue",
        deleted: true,
    },
];

/// Each topic's tag (when a teammate first acts) and second tag (at the first teammate close,
/// for some conversations), in `TOPICS` order.
static TOPIC_TAGS: [(usize, Option<usize>); 17] = [
    (LOGIN, None),                   // Can't log in
    (HOW_TO, Some(FEATURE_REQUEST)), // How do I invite my team?
    (HOW_TO, Some(FEATURE_REQUEST)), // Export dashboard to CSV
    (LOGIN, None),                   // Change the email on my account
    (BUG, None),                     // Dashboard not loading
    (BILLING_TAG, Some(REFUND)),     // Refund request
    (BILLING_TAG, None),             // Invoice needs our VAT number
    (BILLING_TAG, None),             // Card declined on renewal
    (BILLING_TAG, Some(SALES_LEAD)), // Upgrade to the Business plan
    (BILLING_TAG, Some(CHURN_RISK)), // Cancel my subscription
    (BUG, Some(API)),                // API returns 500 on /v2/reports
    (BUG, Some(API)),                // Webhooks stopped firing
    (LOGIN, Some(INTEGRATION)),      // SAML SSO with Okta
    (INTEGRATION, Some(BUG)),        // Salesforce sync failing
    (BUG, Some(FEATURE_REQUEST)),    // CSV import fails
    (SALES_LEAD, None),              // Pricing for 50 seats
    (SALES_LEAD, None),              // Can we get a demo?
];

const TAG_SALT: u64 = 0x7a95_0016;

/// How one conversation gets tagged, fixed before the replay.
pub(crate) struct Rule {
    topic: Option<(usize, Option<usize>)>,
    outage: bool,
}

/// The tag set of a version, one bit per entry of [`TAGS`].
pub(crate) type TagSet = u16;

impl Rule {
    pub(crate) fn of(c: &Conv) -> Rule {
        let h = mix64(c.id ^ TAG_SALT);
        let (first, second) = TOPIC_TAGS[c.topic];
        Rule {
            // Outbound conversations are about the outbound message: teammates leave them untagged.
            topic: c
                .inbound()
                .then_some((first, second.filter(|_| h % 100 < 40))),
            outage: c.inbound()
                && c.topic == TOPIC_DASHBOARD
                && (INCIDENT.0..INCIDENT.1).contains(&c.created),
        }
    }

    /// The tags after `ev`, given those before it.
    pub(crate) fn step(&self, tags: TagSet, ev: &Ev) -> TagSet {
        let mut tags = tags;
        let by_admin = matches!(
            ev.kind,
            Kind::Reply {
                who: Who::Admin(_),
                ..
            } | Kind::Assign {
                by: Who::Admin(_),
                ..
            } | Kind::Close { by: Who::Admin(_) }
                | Kind::Note { .. }
                | Kind::Open { .. }
                | Kind::Snooze { .. }
        );
        if let Some((first, second)) = self.topic {
            if by_admin {
                tags |= 1 << first;
                if self.outage {
                    tags |= 1 << OUTAGE;
                }
            }
            if let (Kind::Close { by: Who::Admin(_) }, Some(s)) = (ev.kind, second) {
                tags |= 1 << s;
            }
        }
        match ev.kind {
            Kind::Assign {
                to: To::Team(LEGACY),
                by: Who::Bot,
                ..
            } => tags |= 1 << LEGACY_QUEUE,
            Kind::Snooze { .. } if self.topic.is_some() => tags |= 1 << FOLLOW_UP,
            Kind::Close { .. } => tags &= !(1 << FOLLOW_UP),
            _ => {}
        }
        tags
    }
}

/// The tag ids of a set, in [`TAGS`] order.
pub(crate) fn ids(tags: TagSet) -> impl Iterator<Item = Id> {
    (0..TAGS.len())
        .filter(move |k| tags & (1 << k) != 0)
        .map(|k| Id::dec(TAGS[k].id))
}

/// `tag` (a non-history table): the deleted tag last synced when it was deleted.
pub(crate) fn write_tags(sink: &mut Sink<'_>) -> duckdb::Result<()> {
    for t in &TAGS {
        write_named_row(sink, T_TAG, t.id, t.name, t.deleted)?;
    }
    Ok(())
}
