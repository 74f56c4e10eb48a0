//! CMQ: dispatches the user events published to a CMQ topic, keeping only messages that carry one
//! of the tags the function is configured with.
//!
//! Shows the message tags in every form the platform sends them (`"a,b"`, `"a, b"`,
//! `["a","b"]`, `""`), read alike through `CmqMessage::tags`; the topic owner sent as a number
//! or a string (`CmqMessage::topic_owner`); and a `String` body parsed by the handler, so that a
//! body that is not a user event is logged instead of failing the invocation. The tag filter is
//! read once per instance by an init hook from `CMQ_TAGS` (comma-separated; unset or empty: every
//! message passes), like a subscription's filter tags: a message passes when it carries at least
//! one of them.
//!
//! Try it: `cargo run -p scf-runtime-server -- serve` hosts it as `cmq` (with `CMQ_TAGS`), then
//! `cargo run -p scf-runtime-server -- invoke cmq --event cmq:real`, or
//! `curl --data-binary @scf-events/fixtures/cmq-legacy.json http://127.0.0.1:9000/functions/cmq/invocations`.

use std::collections::BTreeSet;

use scf::events::cmq::{CmqEvent, CmqMessage};
use serde::{Deserialize, Serialize};

/// The tags a message must carry one of; empty: every message passes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TagFilter {
    wanted: BTreeSet<String>,
}

impl TagFilter {
    /// Reads a comma-separated list (`"signup, billing"`); blank items are ignored.
    pub fn parse(list: &str) -> Self {
        TagFilter {
            wanted: list
                .split(',')
                .map(str::trim)
                .filter(|tag| !tag.is_empty())
                .map(str::to_owned)
                .collect(),
        }
    }

    /// Whether a message with these tags passes.
    pub fn passes<'a>(&self, mut tags: impl Iterator<Item = &'a str>) -> bool {
        self.wanted.is_empty() || tags.any(|tag| self.wanted.contains(tag))
    }
}

/// The init hook: reads `CMQ_TAGS` once per instance.
pub async fn setup() -> Result<TagFilter, std::convert::Infallible> {
    let filter = TagFilter::parse(&std::env::var("CMQ_TAGS").unwrap_or_default());
    scf::tracing::info!(tags = ?filter.wanted, "init: tag filter");
    Ok(filter)
}

/// What the publisher writes into a message body.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct UserEvent {
    /// What happened: `signup`, `delete`, ...
    pub event: String,
    /// The user's id.
    pub user: String,
}

/// What was done with one message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// A user event, handed to the task it calls for.
    Dispatched {
        /// The event.
        event: String,
        /// The user.
        user: String,
        /// The follow-up task.
        task: &'static str,
    },
    /// A body that is not a user event: logged.
    Logged {
        /// The body.
        text: String,
    },
    /// The message carries none of the wanted tags.
    Filtered,
}

/// One message's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Delivery {
    /// The message id.
    pub msg_id: String,
    /// The topic.
    pub topic: String,
    /// The topic owner's account id.
    pub owner: Option<u64>,
    /// The message's tags.
    pub tags: Vec<String>,
    /// What was done.
    #[serde(flatten)]
    pub action: Action,
}

/// Dispatches every message of the event that passes the tag filter.
#[scf::function(init = setup)]
pub async fn handler(event: CmqEvent, ctx: &scf::Context, filter: &TagFilter) -> Vec<Delivery> {
    let deliveries: Vec<Delivery> = event
        .messages()
        .map(|message| dispatch(message, filter))
        .collect();
    scf::tracing::info!(
        request_id = ctx.request_id(),
        messages = deliveries.len(),
        filtered = deliveries
            .iter()
            .filter(|d| d.action == Action::Filtered)
            .count(),
        "dispatched"
    );
    deliveries
}

fn dispatch(message: &CmqMessage, filter: &TagFilter) -> Delivery {
    let action = if !filter.passes(message.tags()) {
        Action::Filtered
    } else {
        match serde_json::from_str::<UserEvent>(&message.msg_body) {
            Ok(UserEvent { event, user }) => {
                let task = match event.as_str() {
                    "signup" => "send the welcome mail",
                    "delete" => "erase the user's data",
                    _ => "record it",
                };
                Action::Dispatched { event, user, task }
            }
            Err(_) => Action::Logged {
                text: message.msg_body.clone(),
            },
        }
    };
    Delivery {
        msg_id: message.msg_id.clone(),
        topic: message.topic_name.clone(),
        owner: message.topic_owner(),
        tags: message.tags().map(str::to_owned).collect(),
        action,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fixture(name: &str) -> CmqEvent {
        let raw = scf::events::fixtures::get(name).expect("the fixture is bundled");
        serde_json::from_str(raw).unwrap()
    }

    async fn run(event: CmqEvent, tags: &str) -> Vec<Delivery> {
        handler(event, &scf::Context::default(), &TagFilter::parse(tags)).await
    }

    #[tokio::test]
    async fn a_user_event_is_dispatched() {
        let deliveries = run(fixture("cmq-real"), "").await;
        assert_eq!(
            deliveries,
            [Delivery {
                msg_id: "13510798882111649".into(),
                topic: "user-events".into(),
                owner: Some(1_253_970_026),
                tags: vec!["aaaa".into(), "bbbbb".into(), "cccc".into()],
                action: Action::Dispatched {
                    event: "signup".into(),
                    user: "u-1".into(),
                    task: "send the welcome mail",
                },
            }]
        );
        // The answer's JSON: the action's fields sit next to the message's.
        let json = serde_json::to_value(&deliveries[0]).unwrap();
        assert_eq!(json["action"], "dispatched");
        assert_eq!(json["user"], "u-1");
    }

    #[tokio::test]
    async fn tags_in_every_form_pass_the_filter_alike() {
        // "tag1,tag2" with the owner as a string, and ["tag1","tag2"] with a numeric owner.
        for (name, owner) in [
            ("cmq-doc-2021", 1_200_000_000),
            ("cmq-legacy", 1_253_970_026),
        ] {
            let deliveries = run(fixture(name), "tag2, other").await;
            assert_eq!(deliveries[0].tags, ["tag1", "tag2"], "{name}");
            assert_eq!(deliveries[0].owner, Some(owner), "{name}");
            assert_eq!(
                deliveries[0].action,
                Action::Logged {
                    text: "Hello from CMQ!".into()
                },
                "{name}"
            );
            let filtered = run(fixture(name), "tag3").await;
            assert_eq!(filtered[0].action, Action::Filtered, "{name}");
        }
    }

    #[tokio::test]
    async fn a_message_without_tags_passes_only_without_a_filter() {
        let open = run(fixture("cmq-empty-tags"), " , ").await;
        assert!(open[0].tags.is_empty());
        assert!(matches!(open[0].action, Action::Logged { .. }));
        let filtered = run(fixture("cmq-empty-tags"), "billing").await;
        assert_eq!(filtered[0].action, Action::Filtered);
    }

    #[tokio::test]
    async fn each_message_of_a_batch_is_judged_on_its_own() {
        let message = |id: &str, tag: &str, body: &str| {
            json!({"CMQ": {"type": "topic", "topicOwner": "42", "topicName": "user-events",
                           "subscriptionName": "s", "publishTime": "2024-05-01T08:00:00Z",
                           "msgId": id, "requestId": "1", "msgBody": body, "msgTag": tag}})
        };
        let event: CmqEvent = serde_json::from_value(json!({"Records": [
            message("1", "billing, gdpr", r#"{"event":"delete","user":"u-9"}"#),
            message("2", "marketing", r#"{"event":"signup","user":"u-10"}"#),
            message("3", "gdpr", r#"{"event":"export","user":"u-11"}"#),
        ]}))
        .unwrap();
        let deliveries = run(event, "gdpr").await;
        let tasks: Vec<(&str, Option<&str>)> = deliveries
            .iter()
            .map(|d| {
                let task = match &d.action {
                    Action::Dispatched { task, .. } => Some(*task),
                    _ => None,
                };
                (d.msg_id.as_str(), task)
            })
            .collect();
        assert_eq!(
            tasks,
            [
                ("1", Some("erase the user's data")),
                ("2", None),
                ("3", Some("record it")),
            ]
        );
        assert_eq!(deliveries[1].action, Action::Filtered);
        assert_eq!(deliveries[0].owner, Some(42));
    }
}
