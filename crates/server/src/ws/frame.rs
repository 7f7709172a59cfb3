//! One update encoded once for every subscriber of a shared computation.
//!
//! Subscribers of the same computation get the same update; only the subscription id in
//! the message differs. The message is serialized once with a placeholder id, and each
//! subscriber's frame is the text before the id, its id, and the text after it:
//!
//! ```text
//! {"type":"subscriptionUpdate","subscriptionUpdate":{"subscriptionId":"│<id>│","update":{…}}}
//! └──────────────────────── head ─────────────────────────────────────┘      └─── tail ───┘
//! ```

use super::outbound::to_json;
use sightline_wire::persistent_compute::{
    ServerMessage, SubscriptionUpdate, SubscriptionUpdateMessage,
};
use uuid::Uuid;

/// What must directly precede the id for the split to be the id field (it is the
/// message's first field, so the first occurrence of the placeholder is the id).
const ID_FIELD: &str = "\"subscriptionId\":\"";

/// A serialized update with a hole where the subscription id goes.
#[derive(Debug, Clone)]
pub(crate) struct UpdateFrame {
    json: String,
    /// Byte offset of the id in `json`.
    at: usize,
}

impl UpdateFrame {
    /// Serializes `update` once; `None` (logged) if serialization fails.
    pub(crate) fn encode(update: SubscriptionUpdate) -> Option<Self> {
        let message = ServerMessage::SubscriptionUpdate(SubscriptionUpdateMessage {
            subscription_id: Uuid::nil(),
            update,
        });
        let json = to_json(&message)?;
        let placeholder = Uuid::nil().hyphenated().to_string();
        let at = json.find(&placeholder)?;
        if !json[..at].ends_with(ID_FIELD) {
            tracing::error!("subscription update did not start with its id; not sent");
            return None;
        }
        Some(UpdateFrame { json, at })
    }

    /// The frame for subscription `id`.
    pub(crate) fn for_subscription(&self, id: Uuid) -> String {
        let mut buffer = Uuid::encode_buffer();
        let id = id.hyphenated().encode_lower(&mut buffer);
        let tail = self.at + id.len();
        let mut out = String::with_capacity(self.json.len());
        out.push_str(&self.json[..self.at]);
        out.push_str(id);
        out.push_str(&self.json[tail..]);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sightline_wire::persistent_compute::FullResult;
    use sightline_wire::scout_compute::ComputeNodeResponse;

    #[test]
    fn spliced_frame_equals_a_direct_encoding() {
        let update = SubscriptionUpdate::Full(FullResult {
            result: ComputeNodeResponse::NumericPoint(None),
        });
        let id = Uuid::new_v4();
        let direct = to_json(&ServerMessage::SubscriptionUpdate(
            SubscriptionUpdateMessage {
                subscription_id: id,
                update: update.clone(),
            },
        ));
        let frame = UpdateFrame::encode(update).map(|f| f.for_subscription(id));
        assert!(direct.is_some());
        assert_eq!(frame, direct);
    }
}
