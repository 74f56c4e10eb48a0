//! The one door every trigger goes through: [`Invoker`], implemented by the host (`Host`).
//!
//! Triggers never start or address instances themselves. They build an event (or, for a web
//! function, pass the HTTP request on) and hand it to an [`Invoker`], so scheduling, limits, logs
//! and metrics are the same as for a direct invoke.

use std::future::Future;

use bytes::Bytes;

use crate::fault::{Fault, InvokeError};

/// The invoke path as the triggers see it.
///
/// The server implements it over its scheduler; tests implement it with a closure-like fake.
pub trait Invoker: Clone + Send + Sync + 'static {
    /// Invokes `function` synchronously with the raw `payload` and waits for its result body.
    fn invoke(
        &self,
        function: &str,
        payload: Bytes,
    ) -> impl Future<Output = Result<Bytes, InvokeError>> + Send;

    /// Queues an asynchronous invocation of `function` and returns its request id once the event is
    /// accepted (not when it has run).
    fn invoke_async(
        &self,
        function: &str,
        payload: Bytes,
    ) -> impl Future<Output = Result<String, InvokeError>> + Send;

    /// Queues an asynchronous invocation that came from `source` (a timer fire, a queue batch),
    /// so status listings show where it came from. By default the same as
    /// [`invoke_async`](Self::invoke_async).
    fn invoke_event(
        &self,
        function: &str,
        payload: Bytes,
        source: crate::durable::EventSource,
    ) -> impl Future<Output = Result<String, InvokeError>> + Send {
        let _ = source;
        self.invoke_async(function, payload)
    }

    /// Proxies an HTTP request (body already read, at most
    /// [`MAX_SYNC_EVENT_BYTES`](crate::fault::MAX_SYNC_EVENT_BYTES)) to web function
    /// `function`, with `request_id` in its `X-Scf-Request-Id`, and returns the function's
    /// answer. By default every function is an event function: the request is refused.
    fn invoke_web(
        &self,
        function: &str,
        request: http::Request<Bytes>,
        request_id: &str,
    ) -> impl Future<Output = Result<http::Response<Bytes>, InvokeError>> + Send {
        let _ = (request, request_id);
        let error = Fault::InvalidParameter.error(format!("{function} is not a web function"));
        std::future::ready(Err(error))
    }

    /// Whether `function` is a web function hosted outside the triggers' own configuration (one
    /// deployed through the Cloud API): such a function is reached at its function URL,
    /// `/fn/<function>/`. By default there are none.
    fn is_deployed_web(&self, function: &str) -> bool {
        let _ = function;
        false
    }
}
