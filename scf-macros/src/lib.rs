//! The `#[scf::function]` attribute macro. Use it through the `scf-rs` package (crate `scf`), which
//! re-exports it as `scf::function` and provides the support code it generates calls to.
//!
//! The macro works in three steps, one module each: `parse` reads the
//! attribute's options and the annotated `fn`, `validate` checks them
//! against the accepted shapes (collecting every mistake as an error spanned on the
//! offending token, with a `help:` line), and `expand` emits the handler
//! unchanged plus a `main` that runs it.

mod expand;
mod parse;
mod validate;

use proc_macro::TokenStream;

/// Turns a handler into an SCF function: the handler is emitted unchanged (tests call it
/// like any function) and a `main` is generated that runs it under the SCF runtime.
///
/// ```ignore
/// use scf::Context;
/// use serde_json::Value;
///
/// #[scf::function]
/// async fn handler(event: Value, ctx: Context) -> Result<Value, scf::Error> {
///     scf::tracing::info!(request_id = ctx.request_id(), "echoing");
///     Ok(event)
/// }
/// ```
///
/// # Accepted shapes
///
/// The event comes first, by value: any `serde::de::DeserializeOwned` type (a type from
/// `scf::events`, your own `#[derive(Deserialize)]` struct, `serde_json::Value`, or
/// `serde::de::IgnoredAny` to ignore it). After it, in any order and both optional:
///
/// - the invocation context, `scf::Context` or `&scf::Context`;
/// - the shared state, `&State`, built once per instance by the `init` hook.
///
/// | Shape | Example |
/// |---|---|
/// | `async fn(E)` | `async fn handler(event: Order) -> Result<Receipt, scf::Error>` |
/// | `async fn(E, Context)` | `async fn handler(event: Order, ctx: scf::Context) -> Receipt` |
/// | `async fn(E, &Context)` | `async fn handler(event: Order, ctx: &scf::Context) -> Receipt` |
/// | `async fn(E, &S)` | `async fn handler(event: Order, db: &Db) -> Receipt` (with `init`) |
/// | `async fn(E, Context, &S)` | `async fn handler(event: Order, ctx: scf::Context, db: &Db) -> Receipt` |
/// | `fn(...)` | the same shapes without `async`, for work that never waits |
///
/// The handler returns `Result<R, Er>` (or an alias such as `anyhow::Result<R>`) or a plain
/// `R`, where `R: serde::Serialize` and `Er` is `scf::Error`, any `std::error::Error` (its
/// type name becomes the platform's `errorType` and its `source()` chain the
/// `stackTrace`), a `Box<dyn std::error::Error + Send + Sync>` (its chain kept), or anything
/// else `Display` (its type name and text).
///
/// # Options
///
/// | Option | Default | Meaning |
/// |---|---|---|
/// | `init = setup` | none | `async fn setup() -> Result<State, Er>` runs once per instance, before the runtime reports ready; the handler borrows its state as `&State`. If it fails, one line with the error and its source chain goes to stderr and the process exits with status 1, without reporting ready. |
/// | `main = false` | `true` | generate no `main` (write your own around `scf::run(scf::service_fn(handler))`); the handler's types are still checked |
/// | `flavor = "multi_thread"` | `"current_thread"` | tokio scheduler of the generated `main` (`multi_thread` needs the `multi-thread` feature) |
/// | `timeout_margin_ms = 200` | off | soft deadline: give up on the handler this long before the platform's deadline and report a `Timeout` error, so the instance is not killed |
/// | `crate = my::scf` | `::scf` | where `scf` is found, when it is re-exported |
///
/// The generated `main` installs the default log subscriber (`scf::tracing`), runs the
/// init hook, then serves events until SIGTERM. Put the handler at the crate root of
/// the binary; `main` takes the handler's visibility.
///
/// # Errors
///
/// Every misuse is a compile error on the offending token with a `help:` line, and all of
/// them are reported at once:
///
/// ```text
/// error: the event is passed by value: each invocation deserialises a fresh one and hands it over
///        help: take it by value: `event: serde_json::Value`
///  --> src/main.rs:2:25
///   |
/// 2 | async fn handler(event: &serde_json::Value) -> serde_json::Value {
///   |                         ^
/// ```
///
/// Type problems (an event that is not `Deserialize`, a response that is not `Serialize`,
/// an error that does not convert, an init hook that is not `async`) are reported once,
/// on your type, with a note saying what to write.
#[proc_macro_attribute]
pub fn function(args: TokenStream, item: TokenStream) -> TokenStream {
    function_impl(args.into(), item.into()).into()
}

fn function_impl(
    args: proc_macro2::TokenStream,
    item: proc_macro2::TokenStream,
) -> proc_macro2::TokenStream {
    let (raw, mut errors) = parse::options(args);
    let options = validate::options(raw, &mut errors);
    let item = match parse::item(item) {
        parse::Input::Fn(item) => item,
        parse::Input::Other(tokens, err) => {
            let errors = match errors {
                Some(mut errors) => {
                    errors.combine(err);
                    errors
                }
                None => err,
            };
            return expand::failed(tokens, errors, options.main);
        }
    };
    let tokens = quote::ToTokens::to_token_stream(&item);
    let in_impl = item.sig.receiver().is_some();
    let named_main = item.sig.ident == "main";
    let handler = validate::handler(item, &options, &mut errors);
    match (handler, errors) {
        (Some(handler), None) => expand::handler(&handler, &options),
        (_, Some(errors)) => {
            // No stub `main` inside an `impl` block (it would become a method), next to a
            // function already called `main`, or when the user writes `main` themselves.
            let stub = options.main && !in_impl && !named_main;
            expand::failed(tokens, errors, stub)
        }
        (None, None) => {
            // `validate::handler` returns `None` only after pushing an error; this arm
            // keeps the macro total without a panic path.
            let err = syn::Error::new(
                proc_macro2::Span::call_site(),
                "`#[scf::function]` could not read this handler",
            );
            expand::failed(tokens, err, options.main)
        }
    }
}
