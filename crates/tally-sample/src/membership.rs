//! Teammates in several teams: `team_admin`, Intercom's team memberships (a non-history table,
//! overwritten in place, a removed membership soft-deleted with `_fivetran_deleted`).
//!
//! Every admin belongs to its own team (`Admin::team`). Some also belong to a second or third
//! team and work conversations routed to each of them; the conversation still counts for the
//! team it is assigned to (`team_assignee_id`), which is what the project's metrics group by.
//! The fixed cases below exist at every volume (each team has at least two regular admins, and
//! the first two of a team never leave):
//! - Tier 1's first admin is also in Billing, for the whole period;
//! - Technical Support's first admin is also in Tier 1 (whole period) and joins Onboarding on
//!   day 60 (a membership added mid-period): three teams;
//! - Billing's second admin is in Sales until day 100, then removed (`_fivetran_deleted`).
//!
//! Other regular admins get a second team with a small chance, from a random stream of their
//! own (the world's other draws are unchanged).

use super::clock::{DAY, HOUR};
use super::rng::Rng;
use super::sink::{Id, Sink, T_TEAM_ADMIN, V};
use super::world::*;

/// A membership beyond the admin's own team.
pub(crate) struct Membership {
    pub admin: usize,
    pub team: usize,
    /// The membership starts at this time.
    pub from: i64,
    /// Removed at this time (the `team_admin` row is then `_fivetran_deleted`).
    pub until: Option<i64>,
}

/// The stream of the random second teams.
const MEMBERSHIP_STREAM: u64 = 0x7ea3_ad31_0000_0016;

/// Chance that another regular admin (neither of its team's first two) is in a second team.
const SECOND_TEAM_P: f64 = 0.06;

/// The memberships beyond the admins' own teams; each is also pushed onto `members[team]`.
pub(crate) fn extra_memberships(
    seed: u64,
    admins: &[Admin],
    members: &mut [Vec<usize>],
) -> Vec<Membership> {
    let always = START - 400 * DAY;
    let mut extra = vec![
        Membership {
            admin: members[TIER1][0],
            team: BILLING,
            from: always,
            until: None,
        },
        Membership {
            admin: members[TECH][0],
            team: TIER1,
            from: always,
            until: None,
        },
        Membership {
            admin: members[TECH][0],
            team: ONBOARDING,
            from: START + 60 * DAY + 9 * HOUR,
            until: None,
        },
        Membership {
            admin: members[BILLING][1],
            team: SALES,
            from: always,
            until: Some(START + 100 * DAY + 10 * HOUR),
        },
    ];
    let rng = Rng::new(seed ^ MEMBERSHIP_STREAM, 0);
    for (team, list) in members.iter().enumerate().take(LEGACY) {
        for &a in list.iter().skip(2) {
            if admins[a].deleted || !rng.chance(SECOND_TEAM_P) {
                continue;
            }
            let other = (team + 1 + rng.below(LEGACY as u64 - 1) as usize) % LEGACY;
            extra.push(Membership {
                admin: a,
                team: other,
                from: always,
                until: None,
            });
        }
    }
    for m in &extra {
        members[m.team].push(m.admin);
    }
    extra
}

/// `team_admin`: one row per membership, the admin's own team included. A membership ends
/// (`_fivetran_deleted`) when it is removed, when the admin leaves the workspace, or with its
/// team (the retired Legacy Support team).
pub(crate) fn write_team_admin(w: &World, sink: &mut Sink<'_>) -> duckdb::Result<()> {
    let own = w
        .admins
        .iter()
        .enumerate()
        .map(|(a, ad)| (a, ad.team, ad.join, ad.leave));
    let extra = w.extra.iter().map(|m| {
        let leave = match (m.until, w.admins[m.admin].leave) {
            (Some(u), Some(l)) => Some(u.min(l)),
            (u, l) => u.or(l),
        };
        (m.admin, m.team, m.from, leave)
    });
    for (a, team, from, end) in own.chain(extra) {
        let deleted = end.is_some() || TEAMS[team].deleted;
        let synced = match end {
            Some(e) => sync_of(e),
            None if from > START => sync_of(from),
            None => AS_OF,
        };
        let team_id = Id::dec(TEAMS[team].id);
        let admin_id = Id::dec(w.admins[a].id);
        sink.row(
            T_TEAM_ADMIN,
            &[
                V::S(team_id.as_str()),
                V::S(admin_id.as_str()),
                V::B(deleted),
                V::T(synced),
            ],
        )?;
    }
    Ok(())
}
