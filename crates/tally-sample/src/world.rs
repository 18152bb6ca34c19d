//! The fixed "world" of the sample workspace: calendar, teams, admins, topics, help-center
//! articles, outbound content, and the canned message bodies.

use super::clock::{hour_of, weekday, ymd_hms, Hours, DAY, HOUR};
use super::membership::{extra_memberships, Membership};
use super::rng::{mix64, Rng};

/// Data cut-off: the last Fivetran sync. Fixed, so every seed shares one calendar.
pub(crate) const AS_OF: i64 = ymd_hms(2026, 6, 30, 23, 59, 59);
/// First day of conversation traffic.
pub(crate) const START: i64 = ymd_hms(2026, 1, 1, 0, 0, 0);
/// The "Legacy Support" team and its two agents are retired (and deleted) from this date.
pub(crate) const LEGACY_END: i64 = ymd_hms(2026, 2, 2, 0, 0, 0);
/// Legacy campaigns (`campaigns_initiated`) were switched off from this date.
pub(crate) const CAMPAIGNS_END: i64 = ymd_hms(2026, 2, 16, 0, 0, 0);
/// Fivetran's `_fivetran_end` sentinel on current rows.
pub(crate) const END_OF_TIME: i64 = ymd_hms(9999, 12, 31, 23, 59, 59);
/// Fivetran sync period: one sync every hour, the last one at `AS_OF`.
pub(crate) const SYNC_EVERY: i64 = HOUR;
/// An outage: more traffic, mostly "dashboard not loading".
pub(crate) const INCIDENT: (i64, i64) = (
    ymd_hms(2026, 3, 17, 9, 30, 0),
    ymd_hms(2026, 3, 17, 16, 0, 0),
);

/// The sync that first sees a change made at `t` (the first grid point at or after `t`).
pub(crate) const fn sync_of(t: i64) -> i64 {
    if t >= AS_OF {
        return AS_OF;
    }
    AS_OF - (AS_OF - t) / SYNC_EVERY * SYNC_EVERY
}

/// One row of a directory table of the workspace's named objects (`team`, `tag`: id, name,
/// deleted, synced): an object deleted in the workspace went with the Legacy Support team, and
/// was last synced then; the others at the data's cut-off.
pub(crate) fn write_named_row(
    sink: &mut super::sink::Sink<'_>,
    table: usize,
    id: u64,
    name: &'static str,
    deleted: bool,
) -> duckdb::Result<()> {
    use super::sink::{Id, V};
    let id = Id::dec(id);
    let synced = if deleted { sync_of(LEGACY_END) } else { AS_OF };
    sink.row(
        table,
        &[V::S(id.as_str()), V::St(name), V::B(deleted), V::T(synced)],
    )
}

/// Workspace office hours, used for Intercom's `statistics_time_to_*` (office hours removed).
pub(crate) const WORKSPACE_HOURS: Hours = Hours {
    weekday: (8, 20),
    weekend: None,
};

pub(crate) const TIER1: usize = 0;
pub(crate) const BILLING: usize = 1;
pub(crate) const TECH: usize = 2;
pub(crate) const SALES: usize = 3;
pub(crate) const ONBOARDING: usize = 4;
pub(crate) const LEGACY: usize = 5;

pub(crate) struct Team {
    pub id: u64,
    pub name: &'static str,
    pub deleted: bool,
    pub hours: Hours,
    /// Mean seconds to the first human reply once the team is on shift.
    pub first_reply_chat: f64,
    pub first_reply_email: f64,
    /// Mean seconds to later replies once on shift.
    pub followup: f64,
    /// Mean number of extra back-and-forths.
    pub exchanges: f64,
    /// Chance that the customer goes silent after a support reply.
    pub silent_p: f64,
    /// Chance that the customer writes again after the close.
    pub reopen_p: f64,
    pub admin_reopen_p: f64,
    pub snooze_p: f64,
    pub note_p: f64,
    /// Weights of ratings 1..=5.
    pub csat: [f64; 5],
    pub admin_share: f64,
    pub titles: &'static [&'static str],
}

const fn h(a: i64, b: i64) -> Hours {
    Hours {
        weekday: (a, b),
        weekend: None,
    }
}

pub(crate) static TEAMS: [Team; 6] = [
    Team {
        id: 5_310_201,
        name: "Tier 1 Support",
        deleted: false,
        hours: Hours {
            weekday: (7, 22),
            weekend: Some((9, 17)),
        },
        first_reply_chat: 150.0,
        first_reply_email: 2.0 * 3600.0,
        followup: 240.0,
        exchanges: 0.9,
        silent_p: 0.14,
        reopen_p: 0.08,
        admin_reopen_p: 0.03,
        snooze_p: 0.05,
        note_p: 0.12,
        csat: [0.04, 0.04, 0.10, 0.30, 0.52],
        admin_share: 0.38,
        titles: &[
            "Support Specialist",
            "Senior Support Specialist",
            "Support Team Lead",
        ],
    },
    Team {
        id: 5_310_202,
        name: "Billing",
        deleted: false,
        hours: h(8, 17),
        first_reply_chat: 600.0,
        first_reply_email: 5.0 * 3600.0,
        followup: 1200.0,
        exchanges: 1.3,
        silent_p: 0.12,
        reopen_p: 0.16,
        admin_reopen_p: 0.05,
        snooze_p: 0.18,
        note_p: 0.35,
        csat: [0.12, 0.08, 0.15, 0.30, 0.35],
        admin_share: 0.14,
        titles: &["Billing Specialist", "Billing Operations Lead"],
    },
    Team {
        id: 5_310_203,
        name: "Technical Support",
        deleted: false,
        hours: h(7, 20),
        first_reply_chat: 900.0,
        first_reply_email: 7.0 * 3600.0,
        followup: 2.0 * 3600.0,
        exchanges: 2.2,
        silent_p: 0.10,
        reopen_p: 0.14,
        admin_reopen_p: 0.06,
        snooze_p: 0.25,
        note_p: 0.45,
        csat: [0.08, 0.07, 0.15, 0.33, 0.37],
        admin_share: 0.22,
        titles: &["Support Engineer", "Senior Support Engineer"],
    },
    Team {
        id: 5_310_204,
        name: "Sales",
        deleted: false,
        hours: h(8, 18),
        first_reply_chat: 300.0,
        first_reply_email: 3.0 * 3600.0,
        followup: 3600.0,
        exchanges: 1.0,
        silent_p: 0.30,
        reopen_p: 0.05,
        admin_reopen_p: 0.08,
        snooze_p: 0.10,
        note_p: 0.20,
        csat: [0.03, 0.03, 0.10, 0.34, 0.50],
        admin_share: 0.12,
        titles: &["Account Executive", "Sales Development Rep"],
    },
    Team {
        id: 5_310_205,
        name: "Onboarding",
        deleted: false,
        hours: h(8, 18),
        first_reply_chat: 420.0,
        first_reply_email: 4.0 * 3600.0,
        followup: 1800.0,
        exchanges: 1.1,
        silent_p: 0.22,
        reopen_p: 0.07,
        admin_reopen_p: 0.06,
        snooze_p: 0.08,
        note_p: 0.15,
        csat: [0.02, 0.03, 0.10, 0.35, 0.50],
        admin_share: 0.14,
        titles: &["Customer Success Manager", "Onboarding Specialist"],
    },
    Team {
        id: 5_310_199,
        name: "Legacy Support",
        deleted: true,
        hours: h(8, 17),
        first_reply_chat: 500.0,
        first_reply_email: 6.0 * 3600.0,
        followup: 1800.0,
        exchanges: 1.2,
        silent_p: 0.15,
        reopen_p: 0.12,
        admin_reopen_p: 0.03,
        snooze_p: 0.05,
        note_p: 0.10,
        csat: [0.10, 0.08, 0.17, 0.33, 0.32],
        admin_share: 0.0,
        titles: &["Support Agent"],
    },
];

/// What a conversation is about: decides the team, the opening message and Fin's odds.
pub(crate) struct Topic {
    pub team: usize,
    pub subject: &'static str,
    pub body: &'static str,
    /// The customer's pick in the Workflow triage buttons.
    pub choice: &'static str,
    pub w_chat: f64,
    pub w_email: f64,
    /// Chance that Fin takes the conversation first (messenger).
    pub fin_p: f64,
    pub collection: usize,
}

pub(crate) const TOPIC_DASHBOARD: usize = 4;

pub(crate) static TOPICS: [Topic; 17] = [
    Topic {
        team: TIER1,
        subject: "Can't log in",
        body: "<p>Hi, I can't log in. It says my password is wrong but I reset it twice.</p>",
        choice: "Login & account",
        w_chat: 9.0,
        w_email: 4.0,
        fin_p: 0.60,
        collection: 1,
    },
    Topic {
        team: TIER1,
        subject: "How do I invite my team?",
        body: "<p>Hello! How do I add my colleagues to our workspace?</p>",
        choice: "Using the product",
        w_chat: 8.0,
        w_email: 2.0,
        fin_p: 0.75,
        collection: 0,
    },
    Topic {
        team: TIER1,
        subject: "Export dashboard to CSV",
        body: "<p>Is there a way to export my dashboard data to CSV or Excel?</p>",
        choice: "Using the product",
        w_chat: 7.0,
        w_email: 3.0,
        fin_p: 0.70,
        collection: 5,
    },
    Topic {
        team: TIER1,
        subject: "Change the email on my account",
        body: "<p>I changed jobs, can you move my account to my new email address?</p>",
        choice: "Login & account",
        w_chat: 4.0,
        w_email: 3.0,
        fin_p: 0.55,
        collection: 1,
    },
    Topic {
        team: TIER1,
        subject: "Dashboard not loading",
        body: "<p>My dashboards are stuck on the loading spinner since this morning.</p>",
        choice: "Something is broken",
        w_chat: 5.0,
        w_email: 2.0,
        fin_p: 0.35,
        collection: 7,
    },
    Topic {
        team: BILLING,
        subject: "Refund request",
        body: "<p>We were charged twice this month, can we get a refund for the duplicate?</p>",
        choice: "Billing",
        w_chat: 3.0,
        w_email: 5.0,
        fin_p: 0.25,
        collection: 2,
    },
    Topic {
        team: BILLING,
        subject: "Invoice needs our VAT number",
        body: "<p>Could you reissue our last invoice with our VAT number on it?</p>",
        choice: "Billing",
        w_chat: 2.0,
        w_email: 6.0,
        fin_p: 0.50,
        collection: 2,
    },
    Topic {
        team: BILLING,
        subject: "Card declined on renewal",
        body: "<p>Our renewal failed, the card was declined. How do we update it?</p>",
        choice: "Billing",
        w_chat: 3.0,
        w_email: 3.0,
        fin_p: 0.40,
        collection: 2,
    },
    Topic {
        team: BILLING,
        subject: "Upgrade to the Business plan",
        body: "<p>We'd like to upgrade to Business, what happens to our current billing cycle?</p>",
        choice: "Billing",
        w_chat: 3.0,
        w_email: 2.0,
        fin_p: 0.45,
        collection: 2,
    },
    Topic {
        team: BILLING,
        subject: "Cancel my subscription",
        body: "<p>Please cancel our subscription at the end of the term.</p>",
        choice: "Billing",
        w_chat: 2.0,
        w_email: 3.0,
        fin_p: 0.20,
        collection: 2,
    },
    Topic {
        team: TECH,
        subject: "API returns 500 on /v2/reports",
        body: "<p>Since yesterday GET /v2/reports returns a 500 for about 10% of calls.</p>",
        choice: "Something is broken",
        w_chat: 2.0,
        w_email: 6.0,
        fin_p: 0.15,
        collection: 4,
    },
    Topic {
        team: TECH,
        subject: "Webhooks stopped firing",
        body: "<p>Our webhook endpoint hasn't received any events since Friday.</p>",
        choice: "Something is broken",
        w_chat: 2.0,
        w_email: 4.0,
        fin_p: 0.20,
        collection: 4,
    },
    Topic {
        team: TECH,
        subject: "SAML SSO with Okta",
        body: "<p>We're setting up SAML SSO with Okta and get 'invalid audience'.</p>",
        choice: "Login & account",
        w_chat: 2.0,
        w_email: 4.0,
        fin_p: 0.35,
        collection: 6,
    },
    Topic {
        team: TECH,
        subject: "Salesforce sync failing",
        body: "<p>The Salesforce integration shows 'sync failed' for all accounts.</p>",
        choice: "Integrations",
        w_chat: 2.0,
        w_email: 4.0,
        fin_p: 0.25,
        collection: 3,
    },
    Topic {
        team: TECH,
        subject: "CSV import fails",
        body: "<p>Importing our contacts CSV stops at row 1,204 with no error message.</p>",
        choice: "Something is broken",
        w_chat: 3.0,
        w_email: 3.0,
        fin_p: 0.30,
        collection: 7,
    },
    Topic {
        team: SALES,
        subject: "Pricing for 50 seats",
        body: "<p>What would pricing look like for around 50 seats on an annual plan?</p>",
        choice: "Talk to sales",
        w_chat: 3.0,
        w_email: 2.0,
        fin_p: 0.30,
        collection: 2,
    },
    Topic {
        team: SALES,
        subject: "Can we get a demo?",
        body: "<p>We're evaluating tools for our support team, could we book a demo?</p>",
        choice: "Talk to sales",
        w_chat: 2.0,
        w_email: 2.0,
        fin_p: 0.15,
        collection: 0,
    },
];

pub(crate) static COLLECTIONS: [&str; 8] = [
    "Getting started",
    "Account & login",
    "Billing & plans",
    "Integrations",
    "API & webhooks",
    "Reports & exports",
    "Security & SSO",
    "Troubleshooting",
];

static ARTICLE_TITLES: [[&str; 6]; 8] = [
    [
        "Welcome to Acme",
        "Create your first dashboard",
        "Invite teammates",
        "Roles and permissions",
        "Keyboard shortcuts",
        "Glossary",
    ],
    [
        "Reset your password",
        "Change your login email",
        "Two-factor authentication",
        "Locked out of your account",
        "Delete your account",
        "Manage sessions",
    ],
    [
        "Plans and pricing",
        "Update your payment method",
        "Download invoices",
        "Add a VAT number",
        "Refund policy",
        "Cancel or downgrade",
    ],
    [
        "Connect Salesforce",
        "Connect HubSpot",
        "Slack notifications",
        "Zapier recipes",
        "Google Sheets sync",
        "Troubleshoot integration syncs",
    ],
    [
        "API authentication",
        "Rate limits",
        "Webhook events",
        "Retrying failed webhooks",
        "API changelog",
        "Pagination",
    ],
    [
        "Export to CSV",
        "Schedule email reports",
        "Custom report builder",
        "Share a dashboard",
        "Report filters",
        "Data freshness",
    ],
    [
        "SAML SSO with Okta",
        "SAML SSO with Azure AD",
        "SCIM provisioning",
        "Audit log",
        "Data retention",
        "IP allowlisting",
    ],
    [
        "Dashboards not loading",
        "Import errors explained",
        "Browser requirements",
        "Status page and incidents",
        "Clear cache",
        "Contact support",
    ],
];

/// Outbound content (content_receipt). `kind` decides who receives it and when.
pub(crate) struct Content {
    pub id: u64,
    pub ruleset_id: u64,
    pub content_type: &'static str,
    pub title: &'static str,
    pub series: Option<(u64, &'static str)>,
    pub kind: ContentKind,
}

#[derive(Clone, Copy, PartialEq)]
pub(crate) enum ContentKind {
    /// Broadcast at a fixed time to a share of the audience.
    Broadcast(i64, f64),
    /// Sent this many seconds after a contact signs up (new contacts only).
    AfterSignup(i64),
    /// Sent to a small random share at random times.
    Random(f64),
    /// Manual message from a teammate (outbound conversations).
    Manual,
}

const SERIES_ONBOARDING: (u64, &str) = (41_001, "Onboarding");
const SERIES_TRIAL: (u64, &str) = (41_002, "Trial conversion");
const SERIES_DUNNING: (u64, &str) = (41_003, "Dunning");
const SERIES_RENEWAL: (u64, &str) = (41_004, "Renewals");

pub(crate) static CONTENTS: [Content; 18] = [
    Content {
        id: 30_001,
        ruleset_id: 90_001,
        content_type: "email",
        title: "January product newsletter",
        series: None,
        kind: ContentKind::Broadcast(ymd_hms(2026, 1, 13, 10, 0, 0), 0.22),
    },
    Content {
        id: 30_002,
        ruleset_id: 90_002,
        content_type: "email",
        title: "February product newsletter",
        series: None,
        kind: ContentKind::Broadcast(ymd_hms(2026, 2, 10, 10, 0, 0), 0.22),
    },
    Content {
        id: 30_003,
        ruleset_id: 90_003,
        content_type: "email",
        title: "March product newsletter",
        series: None,
        kind: ContentKind::Broadcast(ymd_hms(2026, 3, 10, 10, 0, 0), 0.22),
    },
    Content {
        id: 30_004,
        ruleset_id: 90_004,
        content_type: "email",
        title: "April product newsletter",
        series: None,
        kind: ContentKind::Broadcast(ymd_hms(2026, 4, 14, 10, 0, 0), 0.22),
    },
    Content {
        id: 30_005,
        ruleset_id: 90_005,
        content_type: "email",
        title: "May product newsletter",
        series: None,
        kind: ContentKind::Broadcast(ymd_hms(2026, 5, 12, 10, 0, 0), 0.22),
    },
    Content {
        id: 30_006,
        ruleset_id: 90_006,
        content_type: "email",
        title: "June product newsletter",
        series: None,
        kind: ContentKind::Broadcast(ymd_hms(2026, 6, 9, 10, 0, 0), 0.22),
    },
    Content {
        id: 30_010,
        ruleset_id: 90_010,
        content_type: "email",
        title: "Welcome to Acme",
        series: Some(SERIES_ONBOARDING),
        kind: ContentKind::AfterSignup(10 * 60),
    },
    Content {
        id: 30_011,
        ruleset_id: 90_011,
        content_type: "chat",
        title: "Need a hand getting set up?",
        series: Some(SERIES_ONBOARDING),
        kind: ContentKind::AfterSignup(DAY),
    },
    Content {
        id: 30_012,
        ruleset_id: 90_012,
        content_type: "tour",
        title: "Tour: your first dashboard",
        series: Some(SERIES_ONBOARDING),
        kind: ContentKind::AfterSignup(DAY + 2 * HOUR),
    },
    Content {
        id: 30_013,
        ruleset_id: 90_013,
        content_type: "email",
        title: "3 tips to get more out of Acme",
        series: Some(SERIES_ONBOARDING),
        kind: ContentKind::AfterSignup(3 * DAY),
    },
    Content {
        id: 30_014,
        ruleset_id: 90_014,
        content_type: "email",
        title: "Your trial ends in 3 days",
        series: Some(SERIES_TRIAL),
        kind: ContentKind::AfterSignup(11 * DAY),
    },
    Content {
        id: 30_020,
        ruleset_id: 90_020,
        content_type: "post",
        title: "New: AI-powered reports",
        series: None,
        kind: ContentKind::Broadcast(ymd_hms(2026, 3, 3, 15, 0, 0), 0.45),
    },
    Content {
        id: 30_021,
        ruleset_id: 90_021,
        content_type: "banner",
        title: "Scheduled maintenance on Saturday",
        series: None,
        kind: ContentKind::Broadcast(ymd_hms(2026, 4, 16, 9, 0, 0), 0.30),
    },
    Content {
        id: 30_022,
        ruleset_id: 90_022,
        content_type: "survey",
        title: "How likely are you to recommend Acme?",
        series: None,
        kind: ContentKind::Broadcast(ymd_hms(2026, 5, 5, 14, 0, 0), 0.25),
    },
    Content {
        id: 30_023,
        ruleset_id: 90_023,
        content_type: "push",
        title: "Your weekly report is ready",
        series: None,
        kind: ContentKind::Random(0.12),
    },
    Content {
        id: 30_024,
        ruleset_id: 90_024,
        content_type: "email",
        title: "Your card was declined",
        series: Some(SERIES_DUNNING),
        kind: ContentKind::Random(0.02),
    },
    Content {
        id: 30_025,
        ruleset_id: 90_025,
        content_type: "chat",
        title: "Your renewal is coming up",
        series: Some(SERIES_RENEWAL),
        kind: ContentKind::Random(0.04),
    },
    Content {
        id: 30_030,
        ruleset_id: 90_030,
        content_type: "chat",
        title: "Quick question about your setup",
        series: None,
        kind: ContentKind::Manual,
    },
];

pub(crate) const CONTENT_MANUAL: usize = 17;
pub(crate) const CONTENT_MANUAL_EMAIL: usize = 13; // a Series email that customers reply to
pub(crate) const CONTENT_WELCOME_CHAT: usize = 7;

pub(crate) static FIRST_NAMES: [&str; 40] = [
    "Olivia", "Liam", "Emma", "Noah", "Ava", "Lucas", "Mia", "Mateo", "Sofia", "Elijah", "Amara",
    "Hugo", "Chloe", "Arjun", "Yuki", "Leon", "Ines", "Omar", "Hana", "Felix", "Zoe", "Diego",
    "Priya", "Jonas", "Lea", "Kofi", "Nora", "Ivan", "Sara", "Tomas", "Aisha", "Marco", "Freya",
    "Wei", "Lena", "Samuel", "Maya", "Nils", "Clara", "Rafael",
];

pub(crate) static LAST_NAMES: [&str; 40] = [
    "Smith", "Garcia", "Müller", "Rossi", "Kim", "Nguyen", "Dubois", "Silva", "Kowalski", "Jensen",
    "Okafor", "Tanaka", "Novak", "Haddad", "Larsen", "Costa", "Fischer", "Moreau", "Singh",
    "Ivanova", "Brown", "Lopez", "Wagner", "Bianchi", "Park", "Tran", "Laurent", "Santos", "Nowak",
    "Hansen", "Mensah", "Sato", "Horvat", "Khalil", "Berg", "Ferreira", "Weber", "Romano", "Cho",
    "Pham",
];

pub(crate) static DOMAINS: [&str; 16] = [
    "northwind.io",
    "globex.com",
    "initech.co",
    "umbrella.dev",
    "hooli.com",
    "vandelay.net",
    "acmecorp.org",
    "stark.app",
    "wayne.co",
    "tyrell.ai",
    "cyberdyne.io",
    "soylent.com",
    "oscorp.net",
    "gmail.com",
    "outlook.com",
    "proton.me",
];

// --- canned bodies (HTML as Intercom stores it) ---

pub(crate) static ADMIN_FIRST: [&str; 6] = [
    "<p>Thanks for reaching out! Let me take a look at this for you.</p>",
    "<p>Hi there, happy to help. Could you tell me which workspace this is about?</p>",
    "<p>Thanks for the details. I can reproduce this on our side, give me a moment.</p>",
    "<p>Good question! You can do this from Settings → Workspace. I've sent you the steps below.</p>",
    "<p>Sorry about that. I've checked your account and found the cause, here is what happened.</p>",
    "<p>Hey! I'm on it. Can you send me a screenshot of what you see?</p>",
];
pub(crate) static ADMIN_FOLLOWUP: [&str; 6] = [
    "<p>Thanks, that helps. I've applied the fix, could you try again?</p>",
    "<p>I've checked with the team: this is now sorted on our side.</p>",
    "<p>Could you try clearing your cache and logging in again?</p>",
    "<p>I've updated your account. You should see the change within a few minutes.</p>",
    "<p>Here is the link to the article that walks through it step by step.</p>",
    "<p>Just following up, did that work for you?</p>",
];
pub(crate) static ADMIN_SNOOZE: [&str; 3] = [
    "<p>I'm checking this with our engineers and will get back to you by tomorrow.</p>",
    "<p>I've raised this with the billing team, I'll update you as soon as I hear back.</p>",
    "<p>We're deploying a fix, I'll check back in with you once it's out.</p>",
];
pub(crate) static ADMIN_CLOSE: [&str; 3] = [
    "<p>Glad we could sort this out! I'll close this for now, just reply if anything comes up.</p>",
    "<p>Closing this out, feel free to write back any time.</p>",
    "<p>Great, all done. Have a nice day!</p>",
];
pub(crate) static ADMIN_REOPEN: [&str; 3] = [
    "<p>Hi again! Just checking that everything is still working on your side.</p>",
    "<p>Quick follow-up: the fix we mentioned is now live for your workspace.</p>",
    "<p>Reopening this to let you know the refund has now gone through.</p>",
];
pub(crate) static ADMIN_OUTBOUND: [&str; 3] = [
    "<p>Hi! I noticed you set up your workspace last week, anything I can help with?</p>",
    "<p>Hi, your renewal is coming up next month. Do you have any questions about your plan?</p>",
    "<p>Hey, we saw a few failed imports on your account. Want me to take a look?</p>",
];
pub(crate) static NOTES: [&str; 5] = [
    "<p>Checked in Stripe: the duplicate charge is real, refund issued.</p>",
    "<p>Customer is on the Enterprise plan, priority handling.</p>",
    "<p>Looks like the known bug in the reports service, linking to the incident.</p>",
    "<p>Same customer as last week's ticket, be gentle.</p>",
    "<p>Reproduced on staging, filed an engineering ticket.</p>",
];
pub(crate) static CUSTOMER_FOLLOWUP: [&str; 6] = [
    "<p>Still not working, I get the same error.</p>",
    "<p>It's workspace 'marketing-eu'. Screenshot attached.</p>",
    "<p>Ok, tried that. Now I see a different message.</p>",
    "<p>Thanks! One more question: does this also apply to my colleagues?</p>",
    "<p>Any update on this?</p>",
    "<p>Sorry, I was in a meeting. Yes, that's the account.</p>",
];
pub(crate) static CUSTOMER_THANKS: [&str; 4] = [
    "<p>That worked, thanks!</p>",
    "<p>Perfect, thank you so much.</p>",
    "<p>Great, all good now 👍</p>",
    "<p>Thanks for the quick help!</p>",
];
pub(crate) static CUSTOMER_REOPEN: [&str; 4] = [
    "<p>Hi, it's happening again.</p>",
    "<p>Sorry to reopen this, but the problem is back.</p>",
    "<p>One more thing about this…</p>",
    "<p>Actually, I still don't see the change.</p>",
];
pub(crate) static CUSTOMER_OUTBOUND_REPLY: [&str; 4] = [
    "<p>Yes actually, I have a question about permissions.</p>",
    "<p>Thanks for reaching out! Can you help me set up the Slack integration?</p>",
    "<p>We're fine for now, but what's the price for more seats?</p>",
    "<p>Yes please, the import keeps failing.</p>",
];
pub(crate) static FIN_ANSWERS: [&str; 4] = [
    "<p>Here's how you can do that: go to Settings → Workspace and follow the steps in this article.</p>",
    "<p>This usually happens when the session has expired. Try signing out and in again; details here.</p>",
    "<p>You can find this under Billing → Invoices. This article explains each option.</p>",
    "<p>I found an article that should help with this.</p>",
];
pub(crate) const NOTE_ESCALATE: &str = "<p>Escalating to Tier 2, logs attached.</p>";
pub(crate) const BOT_TRIAGE: &str = "<p>Hi there 👋 What can we help you with today?</p>";
pub(crate) const BOT_ROUTED: &str = "<p>Thanks! The team typically replies in a few minutes.</p>";
pub(crate) const BOT_CSAT: &str = "<p>How would you rate the conversation with our team?</p>";
pub(crate) const BOT_FIN_DONE: &str = "<p>Glad I could help! 😊</p>";
pub(crate) const BOT_HANDOFF: &str = "<p>Let me connect you with someone from the team.</p>";
pub(crate) const BOT_AUTOCLOSE: &str =
    "<p>We haven't heard back from you, so we're closing this conversation. Reply any time to reopen it.</p>";
pub(crate) const BOT_OPERATOR: &str = "<p>👋 Looking for pricing or a demo? I can help.</p>";
pub(crate) const QUICK_HELPED: &str = "That helped 👍";
pub(crate) const QUICK_NOT_HELPED: &str = "That didn't help 👎";
pub(crate) const QUICK_HUMAN: &str = "Talk to a person";
pub(crate) const QUICK_DEMO: &str = "Book a demo";
pub(crate) static REMARK_GOOD: [&str; 4] = [
    "Super quick, thank you!",
    "Very helpful",
    "Great support as always",
    "Solved my problem",
];
pub(crate) static REMARK_BAD: [&str; 4] = [
    "Took too long to get an answer",
    "Problem not solved",
    "Had to explain it three times",
    "Not helpful",
];

// --- the seeded parts of the world ---

pub(crate) struct Admin {
    pub id: u64,
    pub name: String,
    pub email: String,
    pub job_title: Option<&'static str>,
    pub team: usize,
    pub join: i64,
    pub leave: Option<i64>,
    pub deleted: bool,
}

pub(crate) struct Article {
    pub id: u64,
    pub title: &'static str,
    pub collection: usize,
    pub author: usize,
    pub created_at: i64,
    /// When the article went live (`None`: still a draft).
    pub published_at: Option<i64>,
    pub edited_at: Option<i64>,
    pub happy_share: f64,
    pub weight: f64,
    pub base_views: i64,
    pub base_reactions: [i64; 3],
    pub base_conversations: i64,
}

/// The Fin/Workflows bot: author of every `bot` part, also listed in `admin` as Intercom does.
pub(crate) const BOT_ID: u64 = 5_730_999;

pub(crate) struct World {
    pub admins: Vec<Admin>,
    /// Admins of each team: its own (`Admin::team`) first, then those in it as a second or
    /// third team ([`World::extra`]).
    pub members: Vec<Vec<usize>>,
    /// Memberships beyond an admin's own team (`team_admin`), see `membership.rs`.
    pub extra: Vec<Membership>,
    pub articles: Vec<Article>,
    pub by_collection: Vec<Vec<usize>>,
    article_cum: Vec<f64>,
    inbound_cum: Vec<f64>,
    pub days: i64,
    pub topic_w_chat: Vec<f64>,
    pub topic_w_email: Vec<f64>,
}

const DOW_WEIGHT: [f64; 7] = [1.18, 1.12, 1.06, 1.0, 0.88, 0.36, 0.31];
const HOUR_WEIGHT: [f64; 24] = [
    0.30, 0.24, 0.20, 0.20, 0.25, 0.40, 0.70, 1.10, 1.60, 1.90, 2.00, 1.90, 1.75, 1.95, 2.20, 2.20,
    2.00, 1.70, 1.40, 1.20, 1.00, 0.80, 0.60, 0.42,
];

fn cumulative(weights: impl Iterator<Item = f64>) -> Vec<f64> {
    let mut acc = 0.0;
    weights
        .map(|w| {
            acc += w;
            acc
        })
        .collect()
}

impl World {
    pub(crate) fn new(seed: u64, conversations: usize) -> World {
        let mut rng = Rng::new(seed, u64::MAX);
        let days = (AS_OF - START) / DAY + 1;

        // Admins: a roster that grows with the volume, spread over the teams by share.
        let regular = (conversations / 2_500).clamp(14, 800);
        let mut admins = Vec::new();
        let mut members = vec![Vec::new(); TEAMS.len()];
        let push = |admins: &mut Vec<Admin>, rng: &Rng, team: usize| {
            let i = admins.len();
            let first = FIRST_NAMES[(mix64(seed ^ (i as u64 * 7 + 1)) % 40) as usize];
            let last = LAST_NAMES[(mix64(seed ^ (i as u64 * 13 + 5)) % 40) as usize];
            let t = &TEAMS[team];
            let job_title = if rng.chance(0.15) {
                None
            } else {
                Some(*rng.pick(t.titles))
            };
            admins.push(Admin {
                id: 5_731_000 + i as u64 * 17 + (mix64(seed ^ i as u64) % 17),
                name: format!("{first} {last}"),
                email: format!(
                    "{}.{}{}@acme.io",
                    first.to_lowercase(),
                    last.to_lowercase().replace('ü', "ue"),
                    if i >= 40 {
                        i.to_string()
                    } else {
                        String::new()
                    }
                ),
                job_title,
                team,
                join: START - 400 * DAY,
                leave: None,
                deleted: false,
            });
            i
        };
        for (team, t) in TEAMS.iter().enumerate().take(LEGACY) {
            let n = ((regular as f64 * t.admin_share).round() as usize).max(2);
            for k in 0..n {
                let i = push(&mut admins, &mut rng, team);
                members[team].push(i);
                // Nobody leaves from the first two slots, so every team always has someone.
                if k >= 2 && rng.chance(0.06) {
                    let leave = START + rng.range(40, days - 30) * DAY;
                    admins[i].leave = Some(leave);
                    admins[i].deleted = true;
                } else if k >= 2 && rng.chance(0.05) {
                    admins[i].join = START + rng.range(20, days - 60) * DAY;
                }
            }
        }
        // One Tier 1 agent always leaves mid-period (a deleted admin with real history).
        let t1 = members[TIER1][2.min(members[TIER1].len() - 1)];
        if admins[t1].leave.is_none() {
            admins[t1].leave = Some(START + 95 * DAY + 17 * HOUR);
            admins[t1].deleted = true;
            admins[t1].join = START - 400 * DAY;
        }
        // The retired Legacy Support team: two agents, both deleted with the team.
        for _ in 0..2 {
            let i = push(&mut admins, &mut rng, LEGACY);
            admins[i].leave = Some(LEGACY_END);
            admins[i].deleted = true;
            members[LEGACY].push(i);
        }

        // Second and third teams: drawn from a stream of their own, so the rest keeps its draws.
        let extra = extra_memberships(seed, &admins, &mut members);

        // Help-center articles.
        let mut articles = Vec::new();
        let mut by_collection = vec![Vec::new(); COLLECTIONS.len()];
        let editors: Vec<usize> = (0..admins.len()).collect();
        for (c, titles) in ARTICLE_TITLES.iter().enumerate() {
            for (k, title) in titles.iter().enumerate() {
                let i = articles.len();
                let created_at = if rng.chance(0.12) {
                    START + rng.range(5, days - 40) * DAY + rng.range(8 * 3600, 18 * 3600)
                } else {
                    START - rng.range(20, 700) * DAY + rng.range(8 * 3600, 18 * 3600)
                };
                let published_at = if k == 5 && c % 3 == 0 {
                    None // a few drafts, never viewed
                } else if created_at >= START {
                    Some(created_at + rng.range(1, 5) * DAY)
                } else {
                    Some(created_at + rng.range(3600, 3 * DAY))
                };
                let edited_at = if rng.chance(0.3) {
                    Some(START + rng.range(1, days - 2) * DAY + rng.range(9 * 3600, 17 * 3600))
                        .filter(|e| published_at.is_some_and(|p| *e > p))
                } else {
                    None
                };
                // One article was written by a Legacy agent who has since been deleted.
                let author = if i == 7 {
                    members[LEGACY][0]
                } else {
                    *rng.pick(&editors[..editors.len() - 2])
                };
                let weight = 1.0 / (k as f64 + 1.0).powf(0.9) * (0.6 + rng.f64());
                let base_views = if created_at < START {
                    (weight * rng.range(300, 4000) as f64) as i64
                } else {
                    0
                };
                let base_reactions = [base_views / 40, base_views / 120, base_views / 200];
                articles.push(Article {
                    id: 9_104_000 + i as u64 * 11,
                    title,
                    collection: c,
                    author,
                    created_at,
                    published_at,
                    edited_at,
                    happy_share: 0.45 + 0.5 * rng.f64(),
                    weight: if published_at.is_some() { weight } else { 0.0 },
                    base_views,
                    base_reactions,
                    base_conversations: base_views / 60,
                });
                by_collection[c].push(i);
            }
        }
        let article_cum = cumulative(articles.iter().map(|a| a.weight));

        let mut inbound = Vec::with_capacity((days * 24) as usize);
        for d in 0..days {
            let day = START + d * DAY;
            let growth = 1.0 + 0.35 * d as f64 / days as f64;
            for hr in 0..24 {
                let t = day + hr * HOUR;
                let incident = if t + HOUR > INCIDENT.0 && t < INCIDENT.1 {
                    3.0
                } else {
                    1.0
                };
                inbound.push(
                    DOW_WEIGHT[weekday(day) as usize]
                        * HOUR_WEIGHT[hr as usize]
                        * growth
                        * incident,
                );
            }
        }
        World {
            admins,
            members,
            extra,
            articles,
            by_collection,
            article_cum,
            inbound_cum: cumulative(inbound.into_iter()),
            days,
            topic_w_chat: TOPICS.iter().map(|t| t.w_chat).collect(),
            topic_w_email: TOPICS.iter().map(|t| t.w_email).collect(),
        }
    }

    fn sample_cells(cum: &[f64], rng: &Rng) -> i64 {
        let x = rng.f64() * cum[cum.len() - 1];
        let cell = cum.partition_point(|c| *c <= x).min(cum.len() - 1);
        START + cell as i64 * HOUR + rng.range(0, HOUR - 1)
    }

    /// A moment following the inbound daily/weekly rhythm (with growth and the incident).
    pub(crate) fn inbound_time(&self, rng: &Rng) -> i64 {
        Self::sample_cells(&self.inbound_cum, rng)
    }

    /// An active member of `team` at `t`.
    pub(crate) fn pick_admin(&self, team: usize, t: i64, rng: &Rng) -> usize {
        let m = &self.members[team];
        for _ in 0..16 {
            let a = *rng.pick(m);
            if self.in_team(a, team, t) {
                return a;
            }
        }
        m[0]
    }

    /// Admin `a` works at `t` and belongs to `team` then (its own team, or a membership of
    /// [`World::extra`] that has started and not been removed).
    pub(crate) fn in_team(&self, a: usize, team: usize, t: i64) -> bool {
        let ad = &self.admins[a];
        if ad.join > t || ad.leave.is_some_and(|l| t >= l) {
            return false;
        }
        ad.team == team
            || self.extra.iter().any(|m| {
                m.admin == a && m.team == team && m.from <= t && m.until.is_none_or(|u| t < u)
            })
    }

    /// A published article, preferring `collection` (if given) and popular ones.
    pub(crate) fn pick_article(&self, collection: Option<usize>, rng: &Rng) -> usize {
        if let Some(c) = collection {
            if rng.chance(0.7) {
                let list = &self.by_collection[c];
                for _ in 0..4 {
                    let k = rng.below(list.len().min(4) as u64) as usize;
                    if self.articles[list[k]].weight > 0.0 {
                        return list[k];
                    }
                }
            }
        }
        let x = rng.f64() * self.article_cum[self.article_cum.len() - 1];
        self.article_cum
            .partition_point(|c| *c <= x)
            .min(self.articles.len() - 1)
    }

    /// Whether the hour is one customers tend to sleep through (pushes replies to the morning).
    pub(crate) fn night(t: i64) -> bool {
        hour_of(t) < 6
    }
}
