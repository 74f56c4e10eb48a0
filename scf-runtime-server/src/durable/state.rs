//! The async event lifecycle: every state and every allowed transition, in one place.
//!
//! ```text
//!              enqueue                    Dispatch
//!   (new) ───────────────▶ Queued ─────────────────────▶ InFlight
//!                           ▲  ▲                          │ │ │
//!                   Replay  │  └──── Retry / Recover ─────┘ │ │
//!                           │                               │ │ Succeed
//!                        Failed ◀──────── DeadLetter ───────┘ └────────▶ Finished
//!
//!   Queued or InFlight ── Abort ──▶ Aborted
//! ```
//!
//! | State | SCF status | Stored | Meaning |
//! |---|---|---|---|
//! | [`Queued`](EventState::Queued) | `RUNNING` | yes | accepted, waiting for its first delivery or its next retry |
//! | [`InFlight`](EventState::InFlight) | `RUNNING` | **no** | being delivered; on disk it is still `Queued`, so a crash re-delivers it |
//! | [`Finished`](EventState::Finished) | `FINISHED` | yes | the function returned |
//! | [`Failed`](EventState::Failed) | `FAILED` | yes | dead-lettered: retries or the max event age ran out, or the error is not retried |
//! | [`Aborted`](EventState::Aborted) | `ABORTED` | yes | stopped by an operator before it finished |

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Where an async event is in its life. See the module docs for the diagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventState {
    /// Accepted and waiting for a delivery (the first one or a retry).
    Queued,
    /// Being delivered right now (never written to disk).
    InFlight,
    /// The function returned successfully.
    Finished,
    /// Given up on and kept in the dead-letter store.
    Failed,
    /// Stopped by an operator.
    Aborted,
}

/// A step in an event's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transition {
    /// The dispatcher takes a due event: `Queued -> InFlight`.
    Dispatch,
    /// The function returned: `InFlight -> Finished`.
    Succeed,
    /// The delivery failed and the policy allows another try: `InFlight -> Queued`.
    Retry,
    /// The delivery failed for good: `InFlight -> Failed`.
    DeadLetter,
    /// The server restarted while the event was in flight: `InFlight -> Queued`.
    Recover,
    /// An operator re-queues a dead letter: `Failed -> Queued`.
    Replay,
    /// An operator stops the event: `Queued | InFlight -> Aborted`.
    Abort,
}

/// A transition that the lifecycle does not allow from the current state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidTransition {
    /// The state the event was in.
    pub from: EventState,
    /// The step that was refused.
    pub transition: Transition,
}

impl fmt::Display for InvalidTransition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "an event that is {} ({}) cannot take the step {:?}",
            self.from,
            self.from.status(),
            self.transition
        )
    }
}

impl std::error::Error for InvalidTransition {}

impl EventState {
    /// The state after `transition`, or why it is not allowed. This is the whole state machine.
    pub fn apply(self, transition: Transition) -> Result<EventState, InvalidTransition> {
        use EventState::*;
        use Transition::*;
        let next = match (self, transition) {
            (Queued, Dispatch) => InFlight,
            (InFlight, Succeed) => Finished,
            (InFlight, Retry) | (InFlight, Recover) => Queued,
            (InFlight, DeadLetter) => Failed,
            (Failed, Replay) => Queued,
            (Queued, Abort) | (InFlight, Abort) => Aborted,
            (from, transition) => return Err(InvalidTransition { from, transition }),
        };
        Ok(next)
    }

    /// Whether the event is done (nothing will deliver it again unless it is replayed).
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            EventState::Finished | EventState::Failed | EventState::Aborted
        )
    }

    /// The status SCF reports for this state (`GetAsyncEventStatus`, `ListAsyncEvents`).
    pub fn status(self) -> AsyncStatus {
        match self {
            EventState::Queued | EventState::InFlight => AsyncStatus::Running,
            EventState::Finished => AsyncStatus::Finished,
            EventState::Failed => AsyncStatus::Failed,
            EventState::Aborted => AsyncStatus::Aborted,
        }
    }
}

impl EventState {
    /// The state as JSON spells it: `queued`, `in_flight`, `finished`, `failed` or `aborted`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventState::Queued => "queued",
            EventState::InFlight => "in_flight",
            EventState::Finished => "finished",
            EventState::Failed => "failed",
            EventState::Aborted => "aborted",
        }
    }
}

impl fmt::Display for EventState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EventState::Queued => "queued",
            EventState::InFlight => "in flight",
            EventState::Finished => "finished",
            EventState::Failed => "failed",
            EventState::Aborted => "aborted",
        })
    }
}

/// SCF's async event status, as the Cloud API spells it (`AsyncEventStatus.Status` of
/// [GetAsyncEventStatus](https://www.tencentcloud.com/document/api/583/44482)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum AsyncStatus {
    /// Queued, in flight, or waiting for a retry.
    Running,
    /// The function returned.
    Finished,
    /// Stopped by an operator.
    Aborted,
    /// Dead-lettered.
    Failed,
}

impl AsyncStatus {
    /// Every status.
    pub const ALL: [AsyncStatus; 4] = [
        AsyncStatus::Running,
        AsyncStatus::Finished,
        AsyncStatus::Aborted,
        AsyncStatus::Failed,
    ];

    /// `RUNNING`, `FINISHED`, `ABORTED` or `FAILED`.
    pub fn as_str(self) -> &'static str {
        match self {
            AsyncStatus::Running => "RUNNING",
            AsyncStatus::Finished => "FINISHED",
            AsyncStatus::Aborted => "ABORTED",
            AsyncStatus::Failed => "FAILED",
        }
    }
}

impl fmt::Display for AsyncStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AsyncStatus {
    type Err = String;

    /// Parses a status, ignoring case (`running`, `FAILED`, …).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AsyncStatus::ALL
            .into_iter()
            .find(|status| status.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                format!("unknown async event status {s:?}; expected RUNNING, FINISHED, ABORTED or FAILED")
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATES: [EventState; 5] = [
        EventState::Queued,
        EventState::InFlight,
        EventState::Finished,
        EventState::Failed,
        EventState::Aborted,
    ];
    const STEPS: [Transition; 7] = [
        Transition::Dispatch,
        Transition::Succeed,
        Transition::Retry,
        Transition::DeadLetter,
        Transition::Recover,
        Transition::Replay,
        Transition::Abort,
    ];

    #[test]
    fn the_allowed_transitions_are_exactly_the_diagram() {
        let mut allowed = Vec::new();
        for from in STATES {
            for step in STEPS {
                if let Ok(to) = from.apply(step) {
                    allowed.push((from, step, to));
                }
            }
        }
        use EventState::*;
        use Transition::*;
        assert_eq!(
            allowed,
            vec![
                (Queued, Dispatch, InFlight),
                (Queued, Abort, Aborted),
                (InFlight, Succeed, Finished),
                (InFlight, Retry, Queued),
                (InFlight, DeadLetter, Failed),
                (InFlight, Recover, Queued),
                (InFlight, Abort, Aborted),
                (Failed, Replay, Queued),
            ]
        );
    }

    #[test]
    fn terminal_states_refuse_delivery() {
        for state in [
            EventState::Finished,
            EventState::Failed,
            EventState::Aborted,
        ] {
            assert!(state.is_terminal());
            let err = state.apply(Transition::Dispatch).unwrap_err();
            assert!(
                err.to_string().contains("cannot take the step Dispatch"),
                "{err}"
            );
        }
    }

    #[test]
    fn statuses_are_scf_spelling() {
        assert_eq!(EventState::InFlight.status().as_str(), "RUNNING");
        assert_eq!(EventState::Queued.status(), AsyncStatus::Running);
        assert_eq!(
            serde_json::to_string(&AsyncStatus::Failed).unwrap(),
            "\"FAILED\""
        );
        assert_eq!("finished".parse::<AsyncStatus>(), Ok(AsyncStatus::Finished));
        assert!(
            "done"
                .parse::<AsyncStatus>()
                .unwrap_err()
                .contains("RUNNING")
        );
    }

    #[test]
    fn states_are_spelled_as_serde_spells_them() {
        for state in [
            EventState::Queued,
            EventState::InFlight,
            EventState::Finished,
            EventState::Failed,
            EventState::Aborted,
        ] {
            let json = serde_json::to_string(&state).unwrap();
            assert_eq!(json, format!("\"{}\"", state.as_str()));
        }
    }
}
