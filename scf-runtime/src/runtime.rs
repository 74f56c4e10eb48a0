//! The invocation loop: ready, then next -> handler -> response|error, forever.

use std::fmt;
use std::future::poll_fn;
use std::marker::PhantomData;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::FutureExt;
use http::{HeaderMap, HeaderName};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tower::{Layer, Service};
use tracing::Instrument;

use crate::client::{Client, Endpoint};
use crate::config::Config;
use crate::context::Context;
use crate::error::{BoxError, Error};
use crate::panic_report;
pub use crate::runtime_error::{RuntimeError, RuntimeErrorKind};
use crate::service::Invocation;
use crate::sigterm::Sigterm;

/// Runs `service` as the function's handler until the process is told to stop.
///
/// Reads [`Config::from_env`], tells the platform the instance is ready, then serves
/// events forever. Returns only when the runtime API is unreachable (after retries) or
/// on SIGTERM (`Ok`).
///
/// The service's error is anything `Into<`[`BoxError`]`>`, as in tower: an [`Error`], any
/// `std::error::Error + Send + Sync` (reported under its type's short name, with its
/// source chain), a boxed error, or a string (reported as `Error`).
pub async fn run<S, E, R>(service: S) -> Result<(), RuntimeError>
where
    S: Service<Invocation<E>, Response = R>,
    S::Error: Into<BoxError>,
    E: DeserializeOwned,
    R: Serialize,
{
    Runtime::new(service).run().await
}

/// The runtime, configurable before it runs.
///
/// ```no_run
/// use std::time::Duration;
/// use scf_runtime::{Context, Error, Runtime, service_fn};
///
/// async fn handler(event: serde_json::Value, _ctx: Context) -> Result<serde_json::Value, Error> {
///     Ok(event)
/// }
///
/// # async fn start() -> Result<(), scf_runtime::RuntimeError> {
/// Runtime::new(service_fn(handler))
///     .timeout_margin(Duration::from_millis(200))
///     .run()
///     .await
/// # }
/// ```
pub struct Runtime<S, E> {
    service: S,
    config: Option<Config>,
    timeout_margin: Option<Duration>,
    max_invocations: Option<u64>,
    handle_sigterm: bool,
    _event: PhantomData<fn(E)>,
}

impl<S, E> fmt::Debug for Runtime<S, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("config", &self.config)
            .field("timeout_margin", &self.timeout_margin)
            .field("max_invocations", &self.max_invocations)
            .finish_non_exhaustive()
    }
}

impl<S, E, R> Runtime<S, E>
where
    S: Service<Invocation<E>, Response = R>,
    S::Error: Into<BoxError>,
    E: DeserializeOwned,
    R: Serialize,
{
    /// A runtime that will drive `service`.
    pub fn new(service: S) -> Self {
        Self {
            service,
            config: None,
            timeout_margin: None,
            max_invocations: None,
            handle_sigterm: true,
            _event: PhantomData,
        }
    }

    /// Wraps the service in a `tower` layer.
    pub fn layer<L>(self, layer: L) -> Runtime<L::Service, E>
    where
        L: Layer<S>,
        L::Service: Service<Invocation<E>>,
    {
        Runtime {
            service: layer.layer(self.service),
            config: self.config,
            timeout_margin: self.timeout_margin,
            max_invocations: self.max_invocations,
            handle_sigterm: self.handle_sigterm,
            _event: PhantomData,
        }
    }

    /// Uses `config` instead of reading the environment.
    pub fn config(mut self, config: Config) -> Self {
        self.config = Some(config);
        self
    }

    /// Soft deadline: stop waiting for the handler `margin` before the platform's
    /// deadline, drop its future and report a `Timeout` error. The instance then stays
    /// warm instead of being killed. Off by default.
    pub fn timeout_margin(mut self, margin: Duration) -> Self {
        self.timeout_margin = Some(margin);
        self
    }

    /// Returns after `n` invocations (for tests).
    pub fn max_invocations(mut self, n: u64) -> Self {
        self.max_invocations = Some(n);
        self
    }

    /// Whether SIGTERM ends the loop gracefully (after the invocation in flight). On by
    /// default.
    pub fn handle_sigterm(mut self, on: bool) -> Self {
        self.handle_sigterm = on;
        self
    }

    /// Tells the platform the instance is ready, then serves events.
    pub async fn run(mut self) -> Result<(), RuntimeError> {
        let config = match self.config.take() {
            Some(config) => config,
            None => Config::from_env()?,
        };
        let addr = config
            .resolve()
            .map_err(|source| RuntimeError::resolve(config.runtime_api.clone(), source))?;
        let mut client = Client::new(addr, &config.runtime_api);
        let config = Arc::new(config);
        panic_report::install(addr);

        // A non-empty body: some hosts reject an empty ready post.
        client
            .post(Endpoint::Ready, Bytes::from_static(b" "))
            .await?;
        ::tracing::debug!(runtime_api = %addr, "init done; waiting for events");

        let mut sigterm = if self.handle_sigterm {
            Sigterm::new()
        } else {
            Sigterm::disabled()
        };
        let mut served = 0u64;
        while self.max_invocations.is_none_or(|max| served < max) {
            let next = tokio::select! {
                biased;
                () = sigterm.recv() => {
                    ::tracing::info!("SIGTERM received; stopping");
                    return Ok(());
                }
                next = client.next() => next?,
            };
            let received = Instant::now();
            let (parts, body) = next;
            served += 1;
            let (endpoint, payload) = self.invoke(&config, &parts.headers, received, body).await;
            client.post(endpoint, payload).await?;
            panic_report::finish();
        }
        Ok(())
    }

    /// Handles one event; returns where to post and the body.
    async fn invoke(
        &mut self,
        config: &Arc<Config>,
        headers: &HeaderMap,
        received: Instant,
        body: Bytes,
    ) -> (Endpoint, Bytes) {
        let context = match context_from_headers(headers, received, config) {
            Ok(context) => context,
            Err(err) => return error_post(&err),
        };
        panic_report::start(context.request_id());
        let span = ::tracing::info_span!("invocation", request_id = %context.request_id());
        let event = match decode_event::<E>(&body) {
            Ok(event) => event,
            Err(err) => {
                span.in_scope(|| ::tracing::error!(error = %err.message(), "bad event"));
                return error_post(&err);
            }
        };
        let deadline = context.deadline();
        let call = self.call(Invocation { event, context }, deadline);
        let outcome = async move {
            let outcome = call.await;
            if let Err(err) = &outcome {
                ::tracing::error!(error_type = err.error_type(), error = %err.message(), "handler failed");
            }
            outcome
        }
        .instrument(span)
        .await;
        match outcome {
            Ok(response) => match serde_json::to_vec(&response) {
                Ok(bytes) => (Endpoint::Response, Bytes::from(bytes)),
                Err(err) => error_post(&Error::new(
                    "SerializeError",
                    format_args!("failed to serialize the handler's response: {err}"),
                )),
            },
            Err(err) => error_post(&err),
        }
    }

    /// Calls the service, catching panics while the future is built and while it runs,
    /// and applying the soft deadline when configured.
    async fn call(&mut self, invocation: Invocation<E>, deadline: Instant) -> Result<R, Error> {
        let ready = AssertUnwindSafe(poll_fn(|cx| self.service.poll_ready(cx)))
            .catch_unwind()
            .await;
        match ready {
            Ok(Ok(())) => {}
            Ok(Err(err)) => return Err(Error::from_into_boxed(err)),
            Err(panic) => return Err(panic_error(&panic)),
        }
        let future =
            match std::panic::catch_unwind(AssertUnwindSafe(|| self.service.call(invocation))) {
                Ok(future) => future,
                Err(panic) => return Err(panic_error(&panic)),
            };
        let guarded = AssertUnwindSafe(future).catch_unwind();
        let result = match self.timeout_margin {
            None => guarded.await,
            Some(margin) => {
                let soft = deadline.checked_sub(margin).unwrap_or(deadline);
                match tokio::time::timeout_at(soft.into(), guarded).await {
                    Ok(result) => result,
                    Err(_) => {
                        return Err(Error::new(
                            "Timeout",
                            format_args!(
                                "handler exceeded the deadline minus {} ms",
                                margin.as_millis()
                            ),
                        ));
                    }
                }
            }
        };
        match result {
            Ok(result) => result.map_err(Error::from_into_boxed),
            Err(panic) => Err(panic_error(&panic)),
        }
    }
}

fn error_post(err: &Error) -> (Endpoint, Bytes) {
    (Endpoint::Error, Bytes::from(err.to_diagnostic().to_json()))
}

fn panic_error(panic: &Box<dyn std::any::Any + Send>) -> Error {
    let message = panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a non-string panic payload");
    Error::new("Panic", format_args!("handler panicked: {message}"))
}

/// What the runtime makes of one `GET /runtime/invocation/next` answer, as [`Runtime::run`] does
/// before calling the handler: the invocation (context from the headers, event from the body),
/// or the JSON body it posts to `/runtime/invocation/error` instead. For the fuzz targets in
/// `fuzz/`; not part of the stable API.
#[doc(hidden)]
pub fn decode_next<E: DeserializeOwned>(
    headers: &HeaderMap,
    body: &[u8],
    config: &Arc<Config>,
) -> Result<Invocation<E>, Bytes> {
    let context =
        context_from_headers(headers, Instant::now(), config).map_err(|e| error_post(&e).1)?;
    let event = decode_event::<E>(body).map_err(|e| error_post(&e).1)?;
    Ok(Invocation { event, context })
}

/// The `/next` headers. `HeaderMap` keys are lower-case, whatever case the host sent;
/// looking them up by `HeaderName` skips the per-lookup validation a `&str` key costs.
const REQUEST_ID: HeaderName = HeaderName::from_static("request_id");
const MEMORY_LIMIT: HeaderName = HeaderName::from_static("memory_limit_in_mb");
const TIME_LIMIT: HeaderName = HeaderName::from_static("time_limit_in_ms");

/// Reads the three invocation headers (names are matched case-insensitively).
pub(crate) fn context_from_headers(
    headers: &HeaderMap,
    received: Instant,
    config: &Arc<Config>,
) -> Result<Context, Error> {
    fn header<'h>(headers: &'h HeaderMap, name: &HeaderName) -> Result<&'h str, Error> {
        let value = headers.get(name).ok_or_else(|| {
            Error::new(
                "InvalidInvocation",
                format_args!("the /runtime/invocation/next answer has no `{name}` header"),
            )
        })?;
        value.to_str().map(str::trim).map_err(|_| {
            Error::new(
                "InvalidInvocation",
                format_args!("the `{name}` header is not visible ASCII"),
            )
        })
    }
    fn number(headers: &HeaderMap, name: &HeaderName) -> Result<u64, Error> {
        let text = header(headers, name)?;
        text.parse().map_err(|_| {
            Error::new(
                "InvalidInvocation",
                format_args!("the `{name}` header {text:?} is not a whole number"),
            )
        })
    }
    let request_id = header(headers, &REQUEST_ID)?.to_owned();
    let memory = number(headers, &MEMORY_LIMIT)?;
    let time_limit = Duration::from_millis(number(headers, &TIME_LIMIT)?);
    Ok(Context::from_parts(
        request_id,
        memory,
        time_limit,
        received,
        config.clone(),
    ))
}

/// Deserialises the event, naming the JSON path and the expected type on failure, and
/// the trigger the payload looks like, when it looks like one.
pub(crate) fn decode_event<E: DeserializeOwned>(body: &[u8]) -> Result<E, Error> {
    // Fast path: plain serde_json. Only a failure pays for path tracking, by decoding a
    // second time to find where it went wrong.
    match serde_json::from_slice(body) {
        Ok(event) => Ok(event),
        Err(plain) => {
            let mut de = serde_json::Deserializer::from_slice(body);
            let err = match serde_path_to_error::deserialize::<_, E>(&mut de) {
                Err(err) => decode_error::<E>(body, &err.path().to_string(), err.inner()),
                Ok(_) => decode_error::<E>(body, ".", &plain),
            };
            Err(err)
        }
    }
}

fn decode_error<E>(body: &[u8], path: &str, err: &serde_json::Error) -> Error {
    let location = if path == "." || path.is_empty() {
        "the top level".to_owned()
    } else {
        format!("`{path}`")
    };
    let hint = match crate::hint::trigger_of(body) {
        Some(trigger) => format!(" (this looks like {trigger})"),
        None => String::new(),
    };
    Error::new(
        "DeserializeError",
        format_args!(
            "failed to deserialize the event into {} at {location}: {err}{hint}",
            std::any::type_name::<E>(),
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_next_answer_is_an_invocation_or_the_error_post() {
        let mut headers = HeaderMap::new();
        headers.insert("request_id", " r-1 ".parse().unwrap());
        headers.insert("memory_limit_in_mb", "128".parse().unwrap());
        headers.insert("time_limit_in_ms", "3000".parse().unwrap());
        let config = Arc::new(Config::default());
        let invocation =
            decode_next::<serde_json::Value>(&headers, br#"{"a": 1}"#, &config).unwrap();
        assert_eq!(invocation.context.request_id(), "r-1");
        assert_eq!(invocation.context.time_limit(), Duration::from_millis(3000));
        assert_eq!(invocation.event["a"], 1);

        let error_type = |post: Bytes| {
            let post: serde_json::Value = serde_json::from_slice(&post).unwrap();
            post["errorType"].as_str().unwrap().to_owned()
        };
        let post = decode_next::<u32>(&headers, br#""x""#, &config).unwrap_err();
        assert_eq!(error_type(post), "DeserializeError");
        headers.insert("time_limit_in_ms", "-1".parse().unwrap());
        let post = decode_next::<u32>(&headers, b"1", &config).unwrap_err();
        assert_eq!(error_type(post), "InvalidInvocation");
    }

    #[test]
    fn headers_any_case() {
        let mut headers = HeaderMap::new();
        headers.insert("Request_Id", "abc".parse().unwrap());
        headers.insert("MEMORY_LIMIT_IN_MB", "256".parse().unwrap());
        headers.insert("Time_Limit_In_Ms", "1500".parse().unwrap());
        let now = Instant::now();
        let ctx = context_from_headers(&headers, now, &Arc::new(Config::default())).unwrap();
        assert_eq!(ctx.request_id(), "abc");
        assert_eq!(ctx.memory_limit_mb(), 256);
        assert_eq!(ctx.deadline(), now + Duration::from_millis(1500));
    }

    #[test]
    fn missing_header_is_named() {
        let mut headers = HeaderMap::new();
        headers.insert("request_id", "abc".parse().unwrap());
        headers.insert("memory_limit_in_mb", "x".parse().unwrap());
        let err = context_from_headers(&headers, Instant::now(), &Arc::new(Config::default()))
            .unwrap_err();
        assert_eq!(err.error_type(), "InvalidInvocation");
        assert!(
            err.message().contains("memory_limit_in_mb"),
            "{}",
            err.message()
        );
    }

    #[test]
    fn decode_error_names_path_and_type() {
        #[derive(Debug, serde::Deserialize)]
        struct Order {
            #[allow(dead_code)]
            items: Vec<u32>,
        }
        let err = decode_event::<Order>(br#"{"items":[1,"two"]}"#).unwrap_err();
        assert_eq!(err.error_type(), "DeserializeError");
        assert!(err.message().contains("items[1]"), "{}", err.message());
        assert!(err.message().contains("Order"), "{}", err.message());
        let err = decode_event::<Order>(br#"{"items":[]} trailing"#).unwrap_err();
        assert!(err.message().contains("trailing"), "{}", err.message());
    }
}
