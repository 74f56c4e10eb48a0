//! The `#[scf::function]` attribute macro. Use it through the `scf` crate, which
//! re-exports it as `scf::function` and provides the support code it generates calls to.
//!
//! The macro works in three steps, one module each: [`parse`](mod@parse) reads the
//! attribute's options and the annotated `fn`, [`validate`](mod@validate) checks them
//! against the accepted shapes (collecting every mistake as an error spanned on the
//! offending token, with a `help:` line), and [`expand`](mod@expand) emits the handler
//! unchanged plus a `main` that runs it.

mod expand;
mod parse;
mod validate;

use proc_macro::TokenStream;

/// Turns a handler into an SCF function: emits the handler unchanged and generates a
/// `main` that runs it under the SCF runtime.
///
/// ```ignore
/// #[scf::function]
/// async fn handler(event: serde_json::Value, ctx: scf::Context) -> Result<serde_json::Value, scf::Error> {
///     Ok(event)
/// }
/// ```
///
/// The handler takes the event first (by value, any `serde::de::DeserializeOwned` type),
/// then, in any order, the invocation context (`scf::Context` or `&scf::Context`) and the
/// shared state (`&State`, built once by the `init` hook). It may be `async` or not, and
/// returns `Result<R, Er>` (`R: Serialize`, `Er` convertible into `scf::Error`) or a plain
/// `R`.
///
/// Options: `init = setup` (an `async fn setup() -> Result<State, Er>` run once per
/// instance before the runtime reports ready), `main = false` (no `main`; write your
/// own), `flavor = "current_thread" | "multi_thread"`, `crate = path` (where `scf` is
/// re-exported) and `timeout_margin_ms = N` (the soft deadline).
///
/// See the `scf` crate's documentation of `function` for the full guide.
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
