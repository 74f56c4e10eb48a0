//! The handler model: a `tower::Service` over [`Invocation`]s.

use std::future::Future;
use std::task::{Context as TaskContext, Poll};

use crate::context::Context;

/// One event, already deserialised into the handler's type, with its [`Context`].
///
/// This is the request type of the `tower::Service` the runtime drives.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Invocation<E> {
    /// The event.
    pub event: E,
    /// The invocation's metadata.
    pub context: Context,
}

impl<E> Invocation<E> {
    /// Pairs an event with its context.
    pub fn new(event: E, context: Context) -> Self {
        Self { event, context }
    }

    /// Splits the invocation into its event and context.
    pub fn into_parts(self) -> (E, Context) {
        (self.event, self.context)
    }
}

/// Turns `async fn(event, context) -> Result<R, Er>` into a `tower::Service`.
///
/// ```no_run
/// use scf_runtime::{Context, Error, service_fn};
/// use serde_json::Value;
///
/// async fn handler(event: Value, _ctx: Context) -> Result<Value, Error> {
///     Ok(event)
/// }
///
/// # async fn start() -> Result<(), scf_runtime::RuntimeError> {
/// scf_runtime::run(service_fn(handler)).await
/// # }
/// ```
pub fn service_fn<F>(f: F) -> ServiceFn<F> {
    ServiceFn { f }
}

/// The service returned by [`service_fn`].
#[derive(Clone, Copy)]
pub struct ServiceFn<F> {
    f: F,
}

impl<F> std::fmt::Debug for ServiceFn<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceFn")
            .field("f", &std::any::type_name::<F>())
            .finish()
    }
}

impl<F, E, Fut, R, Er> tower::Service<Invocation<E>> for ServiceFn<F>
where
    F: FnMut(E, Context) -> Fut,
    Fut: Future<Output = Result<R, Er>>,
{
    type Response = R;
    type Error = Er;
    type Future = Fut;

    fn poll_ready(&mut self, _cx: &mut TaskContext<'_>) -> Poll<Result<(), Er>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, invocation: Invocation<E>) -> Fut {
        (self.f)(invocation.event, invocation.context)
    }
}
