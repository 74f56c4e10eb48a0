//! Hooks used by code that `#[scf::function]` generates. Not a public API.
//!
//! The generated code reaches these through `scf::__private`. The traits here exist to
//! put type errors on the user's tokens with a message that says what to write: the
//! macro emits every use with the span of the user's type, and each trait carries a
//! `#[diagnostic::on_unimplemented]` note. Each user type meets exactly one bound, at one
//! place (the response is serialised inside the service, the event is bounded only by
//! [`run`]), so a mistake is reported once, on the user's type, and never again inside the
//! runtime's own bounds.
//!
//! `flavor = "multi_thread"` needs tokio's multi-thread scheduler, which is opt-in: the
//! `multi-thread` feature (`tokio/rt-multi-thread`) compiles it in.

use std::future::Future;

use serde::Serialize;
use serde::de::DeserializeOwned;

pub use crate::context::Context;
pub use crate::error::Error;
pub use crate::runtime::{Runtime, RuntimeError};
pub use crate::service::{Invocation, service_fn};
use std::time::Duration;

/// Which tokio scheduler the generated `main` builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// One thread; the default.
    CurrentThread,
    /// tokio's work-stealing scheduler (`flavor = "multi_thread"`).
    MultiThread,
}

impl Flavor {
    /// The multi-thread flavor; only available when tokio's multi-thread scheduler is
    /// compiled in (the `multi-thread` feature).
    pub fn multi_thread<T: MultiThreadEnabled>() -> Self {
        Self::MultiThread
    }
}

/// The marker [`Flavor::multi_thread`] is instantiated with.
#[derive(Debug)]
pub struct MultiThreadFeature;

/// Implemented for [`MultiThreadFeature`] when the `multi-thread` feature is on.
#[diagnostic::on_unimplemented(
    message = "`flavor = \"multi_thread\"` needs the `multi-thread` feature of `scf-rs`",
    label = "tokio's multi-thread scheduler is not compiled in",
    note = "enable it in Cargo.toml: `scf-rs = {{ version = \"0.1\", features = [\"multi-thread\"] }}`, \
            or remove `flavor` to use the default current-thread runtime"
)]
pub trait MultiThreadEnabled {}

#[cfg(feature = "multi-thread")]
impl MultiThreadEnabled for MultiThreadFeature {}

fn build_runtime(flavor: Flavor) -> std::io::Result<tokio::runtime::Runtime> {
    match flavor {
        Flavor::CurrentThread => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
        Flavor::MultiThread => multi_thread_runtime(),
    }
}

#[cfg(feature = "multi-thread")]
fn multi_thread_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
}

#[cfg(not(feature = "multi-thread"))]
fn multi_thread_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    // Unreachable in practice: `Flavor::multi_thread` does not compile without the feature.
    Err(std::io::Error::other(
        "the multi-thread scheduler needs the `multi-thread` feature of `scf-rs`",
    ))
}

/// The body of the generated `main`: installs the default log subscriber, builds the
/// tokio runtime and drives `future` (init hook, then the invocation loop) on it. Exits
/// with status 1 and one line on stderr when the runtime cannot start or stops on an
/// error.
pub fn main<F>(flavor: Flavor, future: F)
where
    F: Future<Output = Result<(), RuntimeError>>,
{
    crate::tracing::init_default_subscriber();
    let runtime = match build_runtime(flavor) {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the tokio runtime: {err}");
            std::process::exit(1);
        }
    };
    if let Err(err) = runtime.block_on(future) {
        eprintln!("error: {err}");
        std::process::exit(1);
    }
}

/// The event type's check: it must deserialise from JSON.
///
/// `DeserializeOwned` is a supertrait, so the compiler counts a failed `E: Event` as
/// covering the runtime's own `E: DeserializeOwned` bound at the same place and reports
/// the problem once.
#[diagnostic::on_unimplemented(
    message = "the event type `{Self}` cannot be deserialised from JSON",
    label = "`{Self}` does not implement `serde::Deserialize`",
    note = "derive it with `#[derive(serde::Deserialize)]`, take a type from `scf::events`, \
            or take `serde_json::Value`"
)]
pub trait Event: DeserializeOwned {}

#[diagnostic::do_not_recommend]
impl<T: DeserializeOwned> Event for T {}

/// Checks the event type on its own (for `main = false`, where nothing runs it).
pub fn assert_event<E: Event>() {}

/// The response type's check: it must serialise to JSON.
#[diagnostic::on_unimplemented(
    message = "the handler's response type `{Self}` cannot be serialised to JSON",
    label = "`{Self}` does not implement `serde::Serialize`",
    note = "derive it with `#[derive(serde::Serialize)]`, or return `serde_json::Value`"
)]
pub trait Response: Serialize {}

#[diagnostic::do_not_recommend]
impl<R: Serialize> Response for R {}

/// A handler's response, already serialised to JSON (inside the service, so that the
/// runtime's own bounds never mention the user's type). Serialising it again writes the
/// same JSON text unchanged.
pub type Json = Box<serde_json::value::RawValue>;

/// Serialises a handler's response to JSON inside the service, so that the runtime's own
/// bounds never mention the user's type and a non-`Serialize` response is reported once,
/// at the handler's return type.
pub fn respond<R: Response>(value: R) -> Result<Json, Error> {
    serde_json::value::to_raw_value(&value).map_err(|err| {
        Error::new(
            "SerializeError",
            format_args!("failed to serialize the handler's response: {err}"),
        )
    })
}

/// Runs the service with the generated `main`'s options. The only bound on the event
/// type is [`Event`], reported at the user's event type.
pub async fn run<S, E>(timeout_margin_ms: Option<u64>, service: S) -> Result<(), RuntimeError>
where
    S: tower::Service<Invocation<E>, Response = Json, Error = Error>,
    E: Event,
{
    let runtime = Runtime::new(service);
    match timeout_margin_ms {
        Some(ms) => {
            runtime
                .timeout_margin(Duration::from_millis(ms))
                .run()
                .await
        }
        None => runtime.run().await,
    }
}

/// Type-checks the service the generated `main` would run, without running it (for
/// `main = false`).
pub fn check_service<S, E>(service: S) -> S
where
    S: tower::Service<Invocation<E>, Response = Json, Error = Error>,
    E: Event,
{
    service
}

/// The error type's check: it must convert into [`Error`]. Every `Display` type does
/// (with its type name as `errorType`); `std::error::Error`s and [`Error`] itself are
/// picked earlier by [`StdErrorKind`] and [`ScfErrorKind`], which keep more.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned as a handler error",
    label = "`{Self}` does not convert into `scf::Error`",
    note = "implement `std::fmt::Display` (better, `std::error::Error`) for `{Self}`, \
            or return `scf::Error`"
)]
pub trait HandlerError {
    /// The conversion.
    fn into_scf_error(self) -> Error;
}

#[diagnostic::do_not_recommend]
impl<E: std::fmt::Display> HandlerError for E {
    fn into_scf_error(self) -> Error {
        Error::from_display(self)
    }
}

/// Chosen for errors that implement `std::error::Error`: keeps the source chain.
#[derive(Debug, Clone, Copy)]
pub struct StdTag;

/// Chosen for [`Error`] itself (kept as it is) and for a boxed error (its chain kept).
#[derive(Debug, Clone, Copy)]
pub struct ScfTag;

/// Chosen for every other error: goes through [`HandlerError`] (its `Display` text).
#[derive(Debug, Clone, Copy)]
pub struct OtherTag;

impl StdTag {
    /// [`Error::from_std`].
    pub fn convert<E>(self, error: E) -> Error
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        Error::from_std(error)
    }
}

impl ScfTag {
    /// The error unchanged, or [`Error::from_boxed`].
    pub fn convert<E: Into<crate::error::BoxError>>(self, error: E) -> Error {
        Error::from_into_boxed(error)
    }
}

impl OtherTag {
    /// [`HandlerError::into_scf_error`], with its check.
    pub fn convert<E: HandlerError>(self, error: E) -> Error {
        error.into_scf_error()
    }
}

/// Picked by method resolution on `(&error).__scf_error_kind()` when the error is a
/// `std::error::Error` (a by-value match on `&E`, found before the autoref'd
/// [`OtherErrorKind`]).
pub trait StdErrorKind {
    /// The tag.
    fn __scf_error_kind(&self) -> StdTag {
        StdTag
    }
}

impl<E: std::error::Error + Send + Sync + 'static> StdErrorKind for E {}

/// Picked, at the same step as [`StdErrorKind`], for [`Error`] and
/// `Box<dyn std::error::Error + Send + Sync>`, neither of which is a
/// `std::error::Error`.
pub trait ScfErrorKind {
    /// The tag.
    fn __scf_error_kind(&self) -> ScfTag {
        ScfTag
    }
}

impl ScfErrorKind for Error {}

impl ScfErrorKind for crate::error::BoxError {}

/// The fallback of [`StdErrorKind`] and [`ScfErrorKind`].
pub trait OtherErrorKind {
    /// The tag.
    fn __scf_error_kind(&self) -> OtherTag {
        OtherTag
    }
}

impl<E> OtherErrorKind for &E {}

/// The init hook's check: an `async fn() -> Result<State, Er>`.
#[diagnostic::on_unimplemented(
    message = "the init hook must be an `async fn` returning `Result<State, Error>`",
    label = "this returns `{Self}`, not a future of `Result<State, Error>`",
    note = "write the hook as `async fn setup() -> Result<State, scf::Error>`"
)]
pub trait InitHook: Future<Output = Result<Self::State, Self::Error>> {
    /// What the hook builds.
    type State;
    /// How it fails.
    type Error;
}

#[diagnostic::do_not_recommend]
impl<F, S, Er> InitHook for F
where
    F: Future<Output = Result<S, Er>>,
{
    type State = S;
    type Error = Er;
}

/// Runs the init hook once; on success keeps the state for the life of the process, on
/// failure reports it with [`init_failed`] and exits. `convert` is generated at the call
/// site, where the error's concrete type picks the conversion that keeps a
/// `std::error::Error`'s source chain.
pub async fn init<F, C>(name: &str, hook: F, convert: C) -> &'static F::State
where
    F: InitHook,
    F::State: 'static,
    C: FnOnce(F::Error) -> Error,
{
    match hook.await {
        Ok(state) => Box::leak(Box::new(state)),
        Err(error) => init_failed(name, convert(error)),
    }
}

/// Reports a failed init hook and exits: one line on stderr with the error and its
/// source chain, status 1, and never a ready call (SCF has no init-error endpoint; the
/// platform reports the exit as an init failure with this line in the logs).
pub fn init_failed(hook: &str, error: Error) -> ! {
    eprintln!("{}", init_failure_line(hook, &error));
    std::process::exit(1)
}

fn init_failure_line(hook: &str, error: &Error) -> String {
    let mut line = format!(
        "error: the init hook `{hook}` failed: {}: {}",
        error.error_type(),
        error.message()
    );
    for cause in error.chain() {
        line.push_str(": caused by: ");
        line.push_str(cause);
    }
    // One line, whatever the messages hold.
    line.replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Outer(std::io::Error);

    impl std::fmt::Display for Outer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("cannot read the settings")
        }
    }

    impl std::error::Error for Outer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[cfg(feature = "multi-thread")]
    #[test]
    fn the_multi_thread_flavor_runs_on_worker_threads() {
        let runtime = build_runtime(Flavor::multi_thread::<MultiThreadFeature>()).unwrap();
        let caller = std::thread::current().id();
        let worker = runtime.block_on(async {
            tokio::spawn(async { std::thread::current().id() })
                .await
                .unwrap()
        });
        assert_ne!(worker, caller, "a spawned task runs on a worker thread");
    }

    #[test]
    fn responses_are_serialised_once_as_written() {
        #[derive(Serialize)]
        struct Receipt {
            total: u32,
            currency: &'static str,
        }
        let json = respond(Receipt {
            total: 7,
            currency: "CNY",
        })
        .unwrap();
        // Field order kept, and serialising the result again writes the same text.
        assert_eq!(json.get(), r#"{"total":7,"currency":"CNY"}"#);
        assert_eq!(
            serde_json::to_string(&json).unwrap(),
            r#"{"total":7,"currency":"CNY"}"#
        );

        let mut bad = std::collections::BTreeMap::new();
        bad.insert(vec![1u8], 1);
        let err = respond(bad).unwrap_err();
        assert_eq!(err.error_type(), "SerializeError");
        assert!(
            err.message().contains("key must be a string"),
            "{}",
            err.message()
        );
    }

    #[test]
    fn the_current_thread_flavor_runs_on_the_caller() {
        let runtime = build_runtime(Flavor::CurrentThread).unwrap();
        let caller = std::thread::current().id();
        let ran_on = runtime.block_on(async {
            tokio::spawn(async { std::thread::current().id() })
                .await
                .unwrap()
        });
        assert_eq!(ran_on, caller);
    }

    #[test]
    fn init_failure_is_one_line_with_the_source_chain() {
        let err = Outer(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "settings.toml\nis missing",
        ));
        let line = init_failure_line("setup", &Error::from_std(err));
        assert_eq!(
            line,
            "error: the init hook `setup` failed: Outer: cannot read the settings: \
             caused by: settings.toml is missing"
        );
    }

    #[test]
    // The borrow is what picks the conversion, as in generated code.
    #[allow(clippy::needless_borrow)]
    fn std_errors_keep_their_chain_and_others_convert() {
        let err = Outer(std::io::Error::other("disk"));
        let converted = (&err).__scf_error_kind().convert(err);
        assert_eq!(converted.error_type(), "Outer");
        assert_eq!(converted.chain(), ["disk"]);

        let text = "plain text";
        let converted = (&text).__scf_error_kind().convert(text);
        assert_eq!(converted.error_type(), "Error");
        assert_eq!(converted.message(), "plain text");

        // Only `Display`: the type's name and the text.
        struct Refused;
        impl std::fmt::Display for Refused {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("refused")
            }
        }
        let converted = (&Refused).__scf_error_kind().convert(Refused);
        assert_eq!(
            (converted.error_type(), converted.message()),
            ("Refused", "refused")
        );

        // `scf::Error` as it is, and a boxed error with its chain.
        let err = Error::from(Outer(std::io::Error::other("disk"))).with_error_type("Mine");
        let converted = (&err).__scf_error_kind().convert(err);
        assert_eq!(converted.error_type(), "Mine");
        assert_eq!(converted.chain(), ["disk"]);
        let boxed: crate::error::BoxError = Box::new(Outer(std::io::Error::other("disk")));
        let converted = (&boxed).__scf_error_kind().convert(boxed);
        assert_eq!(converted.error_type(), "Error");
        assert_eq!(converted.chain(), ["disk"]);
    }
}
