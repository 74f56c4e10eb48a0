//! Validation: turns the parsed options and `fn` into a [`Handler`], or into errors spanned
//! on the offending tokens, each with a `help:` line. Every check runs, so the user sees
//! all mistakes at once.

use proc_macro2::Span;
use quote::ToTokens;
use syn::spanned::Spanned;
use syn::{
    Expr, ExprLit, ExprPath, FnArg, GenericArgument, ItemFn, Lit, Path, PathArguments, ReturnType,
    Type,
};

use crate::parse::{RawOption, find_impl_keyword, push};

/// The options every handler accepts, for messages and suggestions.
const OPTIONS: &[&str] = &["init", "main", "flavor", "crate", "timeout_margin_ms"];

/// Names people reach for, mapped to the option they mean.
const ALIASES: &[(&str, &str)] = &[
    ("setup", "init"),
    ("init_fn", "init"),
    ("on_init", "init"),
    ("state", "init"),
    ("runtime", "flavor"),
    ("rt", "flavor"),
    ("krate", "crate"),
    ("scf", "crate"),
    ("path", "crate"),
    ("timeout", "timeout_margin_ms"),
    ("timeout_margin", "timeout_margin_ms"),
    ("margin", "timeout_margin_ms"),
    ("deadline_margin_ms", "timeout_margin_ms"),
];

/// The longest soft-deadline margin that makes sense: SCF's longest synchronous timeout.
const MAX_MARGIN_MS: u64 = 900_000;

/// Which tokio scheduler the generated `main` builds.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flavor {
    CurrentThread,
    MultiThread,
}

/// The validated options.
pub(crate) struct Options {
    /// `init = path`.
    pub(crate) init: Option<Path>,
    /// Whether to generate `main` (`main = false` turns it off).
    pub(crate) main: bool,
    /// `flavor = "..."` and where it was written.
    pub(crate) flavor: (Flavor, Span),
    /// `crate = path`; `::scf` by default.
    pub(crate) krate: Path,
    /// `timeout_margin_ms = N`.
    pub(crate) timeout_margin_ms: Option<u64>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            init: None,
            main: true,
            flavor: (Flavor::CurrentThread, Span::call_site()),
            krate: syn::parse_quote!(::scf),
            timeout_margin_ms: None,
        }
    }
}

/// One handler argument after the event.
pub(crate) enum Extra {
    /// The invocation context, by value or by reference; `ty` is the user's type.
    Context { by_ref: bool, ty: Box<Type> },
    /// The shared state `&S`; `ty` is the user's whole `&S`.
    State { ty: Box<Type> },
}

/// What the handler returns.
pub(crate) enum Output {
    /// A plain value (`()` when there is no return type); `ty` is where to report.
    Plain { ty: Option<Box<Type>> },
    /// `Result<R, Er>` or an alias such as `anyhow::Result<R>`.
    Result {
        /// The whole return type.
        whole: Box<Type>,
        /// `R`, when written.
        ok: Option<Box<Type>>,
        /// `Er`, when written.
        err: Option<Box<Type>>,
    },
}

/// A handler that passed every check.
pub(crate) struct Handler {
    /// The function as written, emitted unchanged.
    pub(crate) item: Box<ItemFn>,
    /// `async fn` or `fn`.
    pub(crate) is_async: bool,
    /// The event type (first argument).
    pub(crate) event: Type,
    /// The other arguments, in order.
    pub(crate) extras: Vec<Extra>,
    /// The return shape.
    pub(crate) output: Output,
}

/// Checks the options. Returns what could be read even on error, so the caller knows
/// whether a stub `main` is wanted.
pub(crate) fn options(raw: Vec<RawOption>, errors: &mut Option<syn::Error>) -> Options {
    let mut options = Options::default();
    let mut seen: Vec<(String, Span)> = Vec::new();
    // Options that only make sense with a generated `main`, and where they were written.
    let mut needs_main: Vec<(&'static str, Span)> = Vec::new();
    let mut main_false: Option<Span> = None;

    for RawOption { key, value } in raw {
        let name = key.to_string();
        if let Some((_, first)) = seen.iter().find(|(seen, _)| *seen == name) {
            let mut err = syn::Error::new(
                key.span(),
                format_args!(
                    "`{name}` is given twice\nhelp: keep one `{name} = ...` and remove the other"
                ),
            );
            err.combine(syn::Error::new(
                *first,
                format_args!("`{name}` first given here"),
            ));
            push(errors, err);
            continue;
        }
        seen.push((name.clone(), key.span()));
        let Some(known) = OPTIONS.iter().find(|known| **known == name) else {
            push(errors, unknown_option(&key, value.as_ref()));
            continue;
        };
        let Some(value) = value else {
            push(
                errors,
                syn::Error::new(
                    key.span(),
                    format_args!("`{name}` needs a value\nhelp: write `{}`", example(known)),
                ),
            );
            continue;
        };
        match *known {
            "init" => match value {
                Expr::Path(ExprPath {
                    qself: None, path, ..
                }) => {
                    needs_main.push(("init", key.span()));
                    options.init = Some(path);
                }
                Expr::Call(call) => push(
                    errors,
                    syn::Error::new_spanned(
                        &call,
                        format_args!(
                            "`init` names the hook; it is not called here\nhelp: write `init = {}`",
                            pretty(&call.func)
                        ),
                    ),
                ),
                Expr::Lit(ExprLit {
                    lit: Lit::Str(s), ..
                }) => push(
                    errors,
                    syn::Error::new_spanned(
                        &s,
                        format_args!(
                            "`init` takes a path, not a string\nhelp: write `init = {}`",
                            s.value()
                        ),
                    ),
                ),
                other => push(
                    errors,
                    syn::Error::new_spanned(
                        other,
                        "`init` takes the path of an `async fn() -> Result<State, Error>`\n\
                         help: write `init = setup`",
                    ),
                ),
            },
            "main" => match bool_lit(&value) {
                Some(true) => options.main = true,
                Some(false) => {
                    options.main = false;
                    main_false = Some(key.span());
                }
                None => {
                    // The user is configuring `main`; a stub `main` could clash with theirs.
                    options.main = false;
                    push(
                        errors,
                        syn::Error::new_spanned(
                            &value,
                            "`main` takes `true` or `false`\nhelp: write `main = false` to write `main` yourself",
                        ),
                    );
                }
            },
            "flavor" => match str_lit(&value) {
                Some((text, span)) => match text.as_str() {
                    "current_thread" => {
                        needs_main.push(("flavor", key.span()));
                        options.flavor = (Flavor::CurrentThread, span);
                    }
                    "multi_thread" => {
                        needs_main.push(("flavor", key.span()));
                        options.flavor = (Flavor::MultiThread, span);
                    }
                    other => {
                        let closest = closest(other, &["current_thread", "multi_thread"])
                            .unwrap_or("current_thread");
                        push(
                            errors,
                            syn::Error::new(
                                span,
                                format_args!(
                                    "unknown flavor {other:?}; the flavors are \"current_thread\" \
                                     (the default) and \"multi_thread\"\nhelp: write `flavor = \"{closest}\"`"
                                ),
                            ),
                        );
                    }
                },
                None => push(
                    errors,
                    syn::Error::new_spanned(
                        &value,
                        "`flavor` takes a string\nhelp: write `flavor = \"multi_thread\"` or `flavor = \"current_thread\"`",
                    ),
                ),
            },
            "crate" => match value {
                Expr::Path(ExprPath {
                    qself: None, path, ..
                }) => options.krate = path,
                Expr::Lit(ExprLit {
                    lit: Lit::Str(s), ..
                }) => push(
                    errors,
                    syn::Error::new_spanned(
                        &s,
                        format_args!(
                            "`crate` takes a path, not a string\nhelp: write `crate = {}`",
                            s.value()
                        ),
                    ),
                ),
                other => push(
                    errors,
                    syn::Error::new_spanned(
                        other,
                        "`crate` takes the path `scf` is re-exported under\nhelp: write `crate = my_crate::scf`",
                    ),
                ),
            },
            "timeout_margin_ms" => match margin(&value) {
                Ok(ms) => {
                    needs_main.push(("timeout_margin_ms", key.span()));
                    options.timeout_margin_ms = Some(ms);
                }
                Err(err) => push(errors, err),
            },
            // `known` comes from `OPTIONS`, which the arms above cover.
            _ => push(errors, unknown_option(&key, Some(&value))),
        }
    }

    if let Some(main_span) = main_false {
        for (name, span) in needs_main {
            let mut err = syn::Error::new(
                span,
                format_args!(
                    "`{name}` configures the generated `main`, but `main = false` turns it off\n\
                     help: remove `{name}`, or remove `main = false`{}",
                    if name == "init" {
                        "; with your own `main`, run the hook yourself before `scf::run`"
                    } else {
                        ""
                    }
                ),
            );
            err.combine(syn::Error::new(main_span, "`main = false` given here"));
            push(errors, err);
        }
    }
    options
}

fn unknown_option(key: &syn::Ident, value: Option<&Expr>) -> syn::Error {
    let name = key.to_string();
    let alias = ALIASES
        .iter()
        .find(|(alias, _)| *alias == name)
        .map(|(_, option)| *option);
    let suggestion = alias.or_else(|| closest(&name, OPTIONS));
    let help = match suggestion {
        Some(option) => match value {
            Some(value) => format!("help: did you mean `{option} = {}`?", pretty(value)),
            None => format!("help: did you mean `{}`?", example(option)),
        },
        None => "help: remove it".to_owned(),
    };
    syn::Error::new(
        key.span(),
        format_args!(
            "unknown option `{name}`; the options are `init`, `main`, `flavor`, `crate` and `timeout_margin_ms`\n{help}"
        ),
    )
}

/// An example use of each option, for help lines.
fn example(option: &str) -> &'static str {
    match option {
        "init" => "init = setup",
        "main" => "main = false",
        "flavor" => "flavor = \"multi_thread\"",
        "crate" => "crate = my_crate::scf",
        _ => "timeout_margin_ms = 200",
    }
}

/// Tokens as a user would write them: `serde_json::Value`, not `serde_json :: Value`.
pub(crate) fn pretty(tokens: &impl ToTokens) -> String {
    let mut text = tokens.to_token_stream().to_string();
    for (from, to) in [
        (" :: ", "::"),
        (":: ", "::"),
        (" < ", "<"),
        ("< ", "<"),
        (" >", ">"),
        (" ,", ","),
        ("& ", "&"),
        ("( ", "("),
        (" )", ")"),
    ] {
        text = text.replace(from, to);
    }
    text
}

fn bool_lit(expr: &Expr) -> Option<bool> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Bool(b), ..
        }) => Some(b.value),
        _ => None,
    }
}

fn str_lit(expr: &Expr) -> Option<(String, Span)> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Some((s.value(), s.span())),
        _ => None,
    }
}

fn margin(expr: &Expr) -> syn::Result<u64> {
    let help = "help: write a whole number of milliseconds, e.g. `timeout_margin_ms = 200`";
    let lit = match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Int(lit), ..
        }) => lit,
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => {
            return Err(syn::Error::new_spanned(
                s,
                format_args!(
                    "`timeout_margin_ms` takes a number, not a string\nhelp: write `timeout_margin_ms = {}`",
                    s.value()
                ),
            ));
        }
        other => {
            return Err(syn::Error::new_spanned(
                other,
                format_args!("`timeout_margin_ms` takes a whole number of milliseconds\n{help}"),
            ));
        }
    };
    if !matches!(lit.suffix(), "" | "u64" | "u32") {
        return Err(syn::Error::new_spanned(
            lit,
            format_args!(
                "`timeout_margin_ms` is a plain number of milliseconds\nhelp: write `timeout_margin_ms = {}`",
                lit.base10_digits()
            ),
        ));
    }
    let ms = lit.base10_parse::<u64>().map_err(|_| {
        syn::Error::new_spanned(
            lit,
            format_args!("`timeout_margin_ms` does not fit in a u64\n{help}"),
        )
    })?;
    if ms == 0 {
        return Err(syn::Error::new_spanned(
            lit,
            "a margin of 0 ms leaves no time to report the timeout before the platform's kill\n\
             help: use a margin such as `timeout_margin_ms = 200`, or remove the option to turn the soft deadline off",
        ));
    }
    if ms > MAX_MARGIN_MS {
        return Err(syn::Error::new_spanned(
            lit,
            format_args!(
                "{ms} ms is longer than SCF's longest timeout (900 s), so every invocation would time out at once\n\
                 help: use a margin of a few hundred milliseconds, e.g. `timeout_margin_ms = 200`"
            ),
        ));
    }
    Ok(ms)
}

/// Checks the function's signature against the accepted shapes.
pub(crate) fn handler(
    item: Box<ItemFn>,
    options: &Options,
    errors: &mut Option<syn::Error>,
) -> Option<Handler> {
    let mut failed = false;
    let mut fail = |err: syn::Error| {
        failed = true;
        push(errors, err);
    };
    let sig = &item.sig;

    if sig.ident == "main" {
        fail(syn::Error::new_spanned(
            &sig.ident,
            "the handler cannot be called `main`: `#[scf::function]` generates `main` for you\n\
             help: rename it, e.g. `async fn handler(...)`",
        ));
    }
    if let Some(constness) = &sig.constness {
        fail(syn::Error::new_spanned(
            constness,
            "a handler cannot be a `const fn`\nhelp: remove `const`",
        ));
    }
    if let syn::Safety::Unsafe(unsafety) = &sig.safety {
        fail(syn::Error::new_spanned(
            unsafety,
            "a handler cannot be an `unsafe fn`: the runtime calls it with no safety contract\n\
             help: remove `unsafe` and use an `unsafe` block inside",
        ));
    }
    if let Some(abi) = &sig.abi {
        fail(syn::Error::new_spanned(
            abi,
            "a handler is a Rust function, not an `extern` one\nhelp: remove the `extern` ABI",
        ));
    }
    if let Some(variadic) = &sig.variadic {
        fail(syn::Error::new_spanned(
            variadic,
            "a handler cannot be variadic\nhelp: remove `...`",
        ));
    }
    if let Some(param) = sig.generics.params.first() {
        let what = match param {
            syn::GenericParam::Lifetime(_) => {
                "a handler cannot have lifetime parameters: the event is owned and the context \
                 and state references need no names\nhelp: remove the lifetime and write `&scf::Context` or `&State`"
            }
            syn::GenericParam::Type(_) => {
                "a handler cannot be generic: the runtime must know the concrete event type to deserialise it\n\
                 help: name a concrete type, e.g. `event: MyEvent` or `event: serde_json::Value`"
            }
            syn::GenericParam::Const(_) => {
                "a handler cannot have const parameters\nhelp: use a `const` item inside the function"
            }
        };
        fail(syn::Error::new_spanned(param, what));
    } else if let Some(where_clause) = &sig.generics.where_clause {
        fail(syn::Error::new_spanned(
            where_clause,
            "a handler cannot have a `where` clause: its types must be concrete\nhelp: remove the `where` clause",
        ));
    }

    // Arguments.
    let mut event: Option<Type> = None;
    let mut extras: Vec<Extra> = Vec::new();
    let mut context_seen: Option<Span> = None;
    let mut state_seen: Option<Span> = None;
    for (index, arg) in sig.inputs.iter().enumerate() {
        let pat_type = match arg {
            FnArg::Receiver(receiver) => {
                fail(syn::Error::new_spanned(
                    receiver,
                    "`#[scf::function]` goes on a free function, not a method: there is no value for `self`\n\
                     help: move the handler out of the `impl` block; keep shared data in a state \
                     built by `init = setup` and take it as `state: &State`",
                ));
                continue;
            }
            FnArg::Typed(pat_type) => pat_type,
        };
        let ty = &*pat_type.ty;
        if let Some(span) = find_impl_keyword(ty) {
            fail(syn::Error::new(
                span,
                "`impl Trait` in argument position makes the handler generic; the runtime must know the concrete type\n\
                 help: name the concrete type, e.g. `event: MyEvent` or `event: serde_json::Value`",
            ));
            continue;
        }
        if index == 0 {
            if is_context(ty) {
                fail(syn::Error::new_spanned(
                    ty,
                    "the event comes first, then the context\n\
                     help: write `async fn handler(event: MyEvent, ctx: scf::Context)`",
                ));
                continue;
            }
            if let Type::Reference(reference) = ty {
                fail(syn::Error::new_spanned(
                    reference.and_token,
                    format_args!(
                        "the event is passed by value: each invocation deserialises a fresh one and hands it over\n\
                         help: take it by value: `{}: {}`",
                        pretty(&pat_type.pat),
                        pretty(&reference.elem)
                    ),
                ));
                continue;
            }
            event = Some(ty.clone());
            continue;
        }
        let extra = match ty {
            Type::Reference(reference) if reference.mutability.is_some() => {
                let help = if is_context(&reference.elem) {
                    "help: take `ctx: &scf::Context` or `ctx: scf::Context`"
                } else {
                    "help: take `&State` and put the parts that change behind a `Mutex` or an atomic"
                };
                fail(syn::Error::new_spanned(
                    reference.mutability,
                    format_args!(
                        "a handler cannot take a `&mut` argument: the context and the state are shared\n{help}"
                    ),
                ));
                continue;
            }
            Type::Reference(reference) if is_context(&reference.elem) => Extra::Context {
                by_ref: true,
                ty: Box::new(ty.clone()),
            },
            Type::Reference(_) => Extra::State {
                ty: Box::new(ty.clone()),
            },
            _ if index >= 2 || context_seen.is_some() => {
                fail(syn::Error::new_spanned(
                    ty,
                    "a handler takes the event, then optionally the context and a shared state `&State`; \
                     there is no other argument to pass here\n\
                     help: remove this argument, or take it from the state built by `init = setup`",
                ));
                continue;
            }
            _ => Extra::Context {
                by_ref: false,
                ty: Box::new(ty.clone()),
            },
        };
        match &extra {
            Extra::Context { ty, .. } => {
                if let Some(first) = context_seen {
                    let mut err = syn::Error::new_spanned(
                        ty,
                        "the context is already taken by an earlier argument\nhelp: remove this argument",
                    );
                    err.combine(syn::Error::new(first, "the context is taken here"));
                    fail(err);
                    continue;
                }
                context_seen = Some(ty.span());
            }
            Extra::State { ty } => {
                if let Some(first) = state_seen {
                    let mut err = syn::Error::new_spanned(
                        ty,
                        "a handler takes one shared state; this is a second one\n\
                         help: put everything in one state struct built by `init = setup`",
                    );
                    err.combine(syn::Error::new(first, "the state is taken here"));
                    fail(err);
                    continue;
                }
                if options.init.is_none() {
                    fail(syn::Error::new_spanned(
                        ty,
                        "a `&State` argument needs an init hook to build the state\n\
                         help: add `init = setup` to the attribute, with \
                         `async fn setup() -> Result<State, scf::Error>`; \
                         if this is the invocation context, write `&scf::Context`",
                    ));
                    continue;
                }
                state_seen = Some(ty.span());
            }
        }
        extras.push(extra);
    }
    if sig.inputs.is_empty() {
        fail(syn::Error::new(
            sig.paren_token.span.join(),
            "a handler takes the event as its first argument\n\
             help: add it, e.g. `event: serde_json::Value`, or ignore it with `_event: serde::de::IgnoredAny`",
        ));
    }

    // Return type.
    let output = match &sig.output {
        ReturnType::Default => Output::Plain { ty: None },
        ReturnType::Type(_, ty) => {
            if sig.asyncness.is_none() && returns_future(ty) {
                fail(syn::Error::new_spanned(
                    ty,
                    "return the value, not a future: write the handler as an `async fn`\n\
                     help: `async fn handler(event: MyEvent) -> Result<MyResponse, scf::Error>`",
                ));
            }
            result_output(ty).unwrap_or_else(|| Output::Plain {
                ty: Some(ty.clone()),
            })
        }
    };

    if failed {
        return None;
    }
    let event = event?;
    Some(Handler {
        is_async: item.sig.asyncness.is_some(),
        event,
        extras,
        output,
        item,
    })
}

/// Whether `ty` names the invocation context: a path ending in `Context`.
fn is_context(ty: &Type) -> bool {
    match ty {
        Type::Path(path) => path
            .path
            .segments
            .last()
            .is_some_and(|segment| segment.ident == "Context"),
        Type::Paren(paren) => is_context(&paren.elem),
        Type::Group(group) => is_context(&group.elem),
        _ => false,
    }
}

/// Whether `ty` is `impl Future<...>` (or `Pin<Box<dyn Future<...>>>`).
fn returns_future(ty: &Type) -> bool {
    let tokens = ty.to_token_stream().to_string();
    tokens.contains("Future")
        && (matches!(ty, Type::ImplTrait(_)) || tokens.replace(' ', "").starts_with("Pin<"))
}

/// `Result<R, Er>` (or any path type whose last segment is `Result`) split into its
/// arguments.
fn result_output(ty: &Type) -> Option<Output> {
    let Type::Path(path) = ty else {
        return None;
    };
    if path.qself.is_some() {
        return None;
    }
    let last = path.path.segments.last()?;
    if last.ident != "Result" {
        return None;
    }
    let mut types = match &last.arguments {
        PathArguments::AngleBracketed(args) => args
            .args
            .iter()
            .filter_map(|arg| match arg {
                GenericArgument::Type(ty) => Some(Box::new(ty.clone())),
                _ => None,
            })
            .collect::<Vec<_>>(),
        _ => Vec::new(),
    }
    .into_iter();
    Some(Output::Result {
        whole: Box::new(ty.clone()),
        ok: types.next(),
        err: types.next(),
    })
}

/// The candidate closest to `input` by edit distance, when it is close enough to be a typo.
pub(crate) fn closest<'a>(input: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let input = input.to_ascii_lowercase().replace('-', "_");
    candidates
        .iter()
        .map(|candidate| (levenshtein(&input, candidate), *candidate))
        .filter(|(distance, candidate)| *distance <= candidate.len().max(3) / 3 + 1)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous + usize::from(ca != *cb);
            previous = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(previous + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_the_option_a_typo_meant() {
        assert_eq!(closest("int", OPTIONS), Some("init"));
        assert_eq!(closest("flavour", OPTIONS), Some("flavor"));
        assert_eq!(
            closest("timeout_margin", OPTIONS),
            Some("timeout_margin_ms")
        );
        assert_eq!(closest("mian", OPTIONS), Some("main"));
        assert_eq!(closest("banana", OPTIONS), None);
        assert_eq!(
            closest("multi-thread", &["current_thread", "multi_thread"]),
            Some("multi_thread")
        );
    }

    #[test]
    fn levenshtein_counts_edits() {
        assert_eq!(levenshtein("", "abc"), 3);
        assert_eq!(levenshtein("kitten", "sitting"), 3);
        assert_eq!(levenshtein("same", "same"), 0);
    }
}
