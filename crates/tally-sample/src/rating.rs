//! Intercom's rating-request rules, as the generator applies them when a conversation closes
//! (docs/intercom.md, "CSAT as Intercom attributes it"; the project's `conversation_statistics`
//! model checks the same rules on the rows): a teammate replied or started the conversation as a
//! direct outbound message, the customer and teammate text is over 250 characters, the close is
//! within a week of the last message, and it is not a group conversation (a CC'd colleague).

use super::clock::DAY;
use super::conv::{is_human_reply, Conv, Kind, Who};

/// Intercom sends no rating request for conversations with this much text or less.
pub(crate) const MIN_TEXT_CHARS: usize = 250;

/// Whether Intercom would send the rating request when `c` closes at `close_at`.
pub(crate) fn request_eligible(c: &Conv, close_at: i64) -> bool {
    if c.cc {
        return false;
    }
    // delivered_as 1 is admin_initiated: a teammate's direct outbound message.
    let mut teammate = c.delivered_as == 1 && matches!(c.source_author, Who::Admin(_));
    let mut chars = c.body.chars().count();
    let mut last_message = c.created;
    for ev in c.evs.iter().filter(|e| e.t <= close_at) {
        let human = is_human_reply(&ev.kind, ev.body).is_some();
        if human || matches!(ev.kind, Kind::Customer { .. }) {
            teammate |= human;
            chars += ev.body.map_or(0, |b| b.chars().count());
            last_message = ev.t;
        }
    }
    teammate && chars > MIN_TEXT_CHARS && close_at <= last_message + 7 * DAY
}
