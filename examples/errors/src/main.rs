//! Errors: what the platform sees when a handler fails, returns an error or panics.
//!
//! Run it under a host (`cargo scf serve` with a function whose `package = "example-errors"`) and send
//! `{"action": "ok" | "declined" | "message" | "panic"}`: each answer shows one row of the
//! runtime's error table (`errorType` is the concrete error type, `Panic` for panics).

use scf::{Context, Error};
use serde::Deserialize;

/// What the caller asks the function to do.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "lowercase", tag = "action")]
enum Request {
    /// Succeed.
    Ok,
    /// Fail with a typed error (`errorType` = `PaymentDeclined`).
    Declined {
        /// The card that was declined.
        card: String,
    },
    /// Fail with a plain message (`errorType` = `Error`).
    Message,
    /// Panic inside the handler (`errorType` = `Panic`).
    Panic,
}

/// A domain error with a cause.
#[derive(Debug)]
struct PaymentDeclined {
    card: String,
    cause: std::io::Error,
}

impl std::fmt::Display for PaymentDeclined {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "card {} was declined", self.card)
    }
}

impl std::error::Error for PaymentDeclined {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.cause)
    }
}

/// Does what the request says.
async fn handler(request: Request, _ctx: Context) -> Result<&'static str, Error> {
    match request {
        Request::Ok => Ok("fine"),
        Request::Declined { card } => Err(PaymentDeclined {
            card,
            cause: std::io::Error::other("issuer unavailable"),
        }
        .into()),
        Request::Message => Err(Error::msg("the message only")),
        Request::Panic => panic!("the handler gave up"),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), scf::RuntimeError> {
    scf::tracing::init_default_subscriber();
    scf::run(scf::service_fn(handler)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn typed_errors_keep_their_name_and_cause() {
        let request = serde_json::from_str(r#"{"action":"declined","card":"4242"}"#).unwrap();
        let err = handler(request, Context::default()).await.unwrap_err();
        assert_eq!(err.error_type(), "PaymentDeclined");
        assert_eq!(err.message(), "card 4242 was declined");
        assert_eq!(err.chain(), ["issuer unavailable"]);
        assert!(err.downcast_ref::<PaymentDeclined>().is_some());
        assert_eq!(err.to_string(), "card 4242 was declined");
        assert_eq!(
            format!("{err:#}"),
            "card 4242 was declined: issuer unavailable"
        );
    }

    #[tokio::test]
    async fn messages_are_plain_errors() {
        let request = serde_json::from_str(r#"{"action":"message"}"#).unwrap();
        let err = handler(request, Context::default()).await.unwrap_err();
        assert_eq!(err.error_type(), "Error");
        assert_eq!(err.to_string(), "the message only");
        assert!(err.chain().is_empty());
    }
}
