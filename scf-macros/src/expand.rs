//! Expansion: the handler unchanged, plus `main` (or, with `main = false`, a never-called
//! function that type-checks the handler the same way `main` would).
//!
//! Generated code names only `<crate>::__private::...`. Every check on a user type is
//! emitted with the user's span (`quote_spanned!`), so a type error lands on that type.

use proc_macro2::{Group, Span, TokenStream, TokenTree};
use quote::{quote, quote_spanned};
use syn::Path;
use syn::spanned::Spanned;

use crate::validate::{Extra, Flavor, Handler, Options, Output};

/// The code for a handler that passed validation.
pub(crate) fn handler(handler: &Handler, options: &Options) -> TokenStream {
    let item = &handler.item;
    let krate = &options.krate;
    let event_ty = &handler.event;
    let event_span = event_ty.span();
    let service = service(handler, krate);

    if !options.main {
        let private = private_at(krate, event_span);
        let check = quote_spanned! {event_span=>
            #private::assert_event::<#event_ty>();
            let _ = #private::check_service(#service);
        };
        return quote! {
            #item

            #[allow(dead_code, unused_variables, clippy::all, clippy::pedantic)]
            const _: () = {
                fn __scf_check() {
                    #check
                }
            };
        };
    }

    let private = private_at(krate, Span::call_site());
    // Validation guarantees a `&State` argument comes with `init`.
    let init = options.init.as_ref().map(|path| init(path, krate));
    let flavor = match options.flavor {
        (Flavor::CurrentThread, _) => quote!(#private::Flavor::CurrentThread),
        (Flavor::MultiThread, span) => {
            let private = private_at(krate, span);
            quote_spanned!(span=> #private::Flavor::multi_thread::<#private::MultiThreadFeature>())
        }
    };
    let margin = match options.timeout_margin_ms {
        Some(ms) => quote!(::core::option::Option::Some(#ms)),
        None => quote!(::core::option::Option::None),
    };
    // The event type's only bound is on this call, placed on the user's event type.
    let run = {
        let private = private_at(krate, event_span);
        quote_spanned!(event_span=> #private::run(#margin, #service).await)
    };
    // `main` shares the handler's visibility (a `pub` handler in a module gets a `pub`
    // `main` next to it; at the crate root it makes no difference).
    let vis = &item.vis;
    quote! {
        #item

        #[allow(clippy::all, clippy::pedantic)]
        #vis fn main() {
            #private::main(#flavor, async {
                #init
                #run
            })
        }
    }
}

/// `let __scf_state: &'static S = ...;` running the init hook, or exiting on its error.
/// The hook's future is awaited inside `init`, so a hook that is not an `async fn` is
/// reported once, by `init`'s bound, on the user's path.
fn init(path: &Path, krate: &Path) -> TokenStream {
    let name = crate::validate::pretty(path);
    let span = path.span();
    let private = private_at(krate, span);
    let convert = error_conversion(span, krate);
    quote_spanned! {span=>
        let __scf_state = #private::init(#name, #path(), |error| #convert).await;
    }
}

/// Converts `error` (in scope) into `scf::Error`, keeping a `std::error::Error`'s source
/// chain and otherwise going through `Into<scf::Error>`; a failing bound is reported at
/// `span`.
fn error_conversion(span: Span, krate: &Path) -> TokenStream {
    let private = private_at(krate, span);
    quote_spanned! {span=> {
        #[allow(unused_imports)]
        use #private::{OtherErrorKind as _, StdErrorKind as _};
        (&error).__scf_error_kind().convert(error)
    }}
}

/// `service_fn(move |event, ctx| async move { ...call the handler, convert... })`.
fn service(handler: &Handler, krate: &Path) -> TokenStream {
    let private = private_at(krate, Span::call_site());
    let ident = &handler.item.sig.ident;
    let event_ty = &handler.event;

    let mut args = vec![quote!(__scf_event)];
    for extra in &handler.extras {
        args.push(match extra {
            Extra::Context { by_ref: false, ty } => quote_spanned!(ty.span()=> __scf_ctx),
            Extra::Context { by_ref: true, ty } => quote_spanned!(ty.span()=> &__scf_ctx),
            Extra::State { ty } => quote_spanned!(ty.span()=> __scf_state),
        });
    }
    let call = if handler.is_async {
        quote!(#ident(#(#args),*).await)
    } else {
        quote!(#ident(#(#args),*))
    };

    let respond = |span: Span, value: TokenStream| {
        let private = private_at(krate, span);
        let value = respan(value, span);
        quote_spanned!(span=> #private::respond(#value))
    };
    let convert = match &handler.output {
        Output::Plain { ty } => {
            let span = ty.as_ref().map_or(ident.span(), |ty| ty.span());
            respond(span, quote!(__scf_output))
        }
        Output::Result { whole, ok, err } => {
            let ok_span = ok.as_ref().map_or(whole.span(), |ty| ty.span());
            let err_span = err.as_ref().map_or(whole.span(), |ty| ty.span());
            let response = respond(ok_span, quote!(value));
            let error = error_conversion(err_span, krate);
            quote! {
                match __scf_output {
                    ::core::result::Result::Ok(value) => #response,
                    ::core::result::Result::Err(error) => ::core::result::Result::Err(#error),
                }
            }
        }
    };

    quote! {
        #private::service_fn(
            move |__scf_event: #event_ty, __scf_ctx: #private::Context| async move {
                let __scf_output = #call;
                #convert
            }
        )
    }
}

/// `<crate>::__private` with every token at `span`, so that an expression built from it
/// inside `quote_spanned!` is reported at `span` alone.
fn private_at(krate: &Path, span: Span) -> TokenStream {
    respan(quote!(#krate::__private), span)
}

fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut tree| {
            if let TokenTree::Group(group) = &tree {
                let mut inner = Group::new(group.delimiter(), respan(group.stream(), span));
                inner.set_span(span);
                tree = TokenTree::Group(inner);
            } else {
                tree.set_span(span);
            }
            tree
        })
        .collect()
}

/// What is emitted when validation failed: the item as written, every error, and a stub
/// `main` so that no "`main` function not found" error follows.
pub(crate) fn failed(item: TokenStream, errors: syn::Error, stub_main: bool) -> TokenStream {
    let errors = errors.into_compile_error();
    let main = stub_main.then(|| {
        quote!(
            fn main() {}
        )
    });
    quote! {
        #item
        #errors
        #main
    }
}
