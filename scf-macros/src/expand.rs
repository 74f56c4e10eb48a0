//! Expansion: the handler unchanged, plus `main` (or, with `main = false`, a never-called
//! function that type-checks the handler the same way `main` would).
//!
//! Generated code names only `<crate>::__private::...`. Every check on a user type is
//! emitted with the user's span (`quote_spanned!`), so a type error lands on that type.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::Path;
use syn::spanned::Spanned;

use crate::validate::{Extra, Flavor, Handler, Options, Output};

/// The code for a handler that passed validation.
pub(crate) fn handler(handler: &Handler, options: &Options) -> TokenStream {
    let item = &handler.item;
    let krate = &options.krate;
    let private = quote!(#krate::__private);
    let service = service(handler, options);

    if !options.main {
        return quote! {
            #item

            #[allow(dead_code, unused_variables, clippy::all, clippy::pedantic)]
            const _: () = {
                fn __scf_check() {
                    let _ = #private::Runtime::new(#service);
                }
            };
        };
    }

    // Validation guarantees a `&State` argument comes with `init`.
    let init = options.init.as_ref().map(|path| init(path, &private));
    let flavor = match options.flavor {
        (Flavor::CurrentThread, _) => quote!(#private::Flavor::CurrentThread),
        (Flavor::MultiThread, span) => {
            quote_spanned!(span=> #private::Flavor::multi_thread::<#private::MultiThreadFeature>())
        }
    };
    // `main` shares the handler's visibility (a `pub` handler in a module gets a `pub`
    // `main` next to it; at the crate root it makes no difference).
    let vis = &item.vis;
    let margin = options
        .timeout_margin_ms
        .map(|ms| quote!(.timeout_margin(#private::Duration::from_millis(#ms))));
    quote! {
        #item

        #[allow(clippy::all, clippy::pedantic)]
        #vis fn main() {
            #private::main(#flavor, async {
                #init
                #private::Runtime::new(#service)
                    #margin
                    .run()
                    .await
            })
        }
    }
}

/// `let __scf_state: &'static S = ...;` running the init hook, or exiting on its error.
fn init(path: &Path, private: &TokenStream) -> TokenStream {
    let name = path.to_token_stream().to_string().replace(' ', "");
    let span = path.span();
    let call = quote_spanned!(span=> #private::init_hook(#path()));
    let convert = error_conversion(span, private);
    quote! {
        let __scf_state = match #call.await {
            ::core::result::Result::Ok(state) => #private::leak(state),
            ::core::result::Result::Err(error) => #private::init_failed(#name, #convert),
        };
    }
}

/// Converts `error` (in scope) into `scf::Error`, keeping a `std::error::Error`'s source
/// chain and otherwise going through `Into<scf::Error>`; a failing bound is reported at
/// `span`.
fn error_conversion(span: Span, private: &TokenStream) -> TokenStream {
    quote_spanned! {span=> {
        #[allow(unused_imports)]
        use #private::{OtherErrorKind as _, StdErrorKind as _};
        (&error).__scf_error_kind().convert(error)
    }}
}

/// `service_fn(move |event, ctx| async move { ...call the handler, convert... })`.
fn service(handler: &Handler, options: &Options) -> TokenStream {
    let krate = &options.krate;
    let private = quote!(#krate::__private);
    let ident = &handler.item.sig.ident;
    let event_ty = &handler.event;
    let event_param = quote_spanned!(event_ty.span()=> #private::EventOf<#event_ty>);

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

    let ident_span = ident.span();
    let convert = match &handler.output {
        Output::Plain { ty } => {
            let span = ty.as_ref().map_or(ident_span, |ty| ty.span());
            let response = quote_spanned!(span=> #private::response(__scf_output));
            quote!(::core::result::Result::Ok::<_, #private::Error>(#response))
        }
        Output::Result { whole, ok, err } => {
            let ok_span = ok.as_ref().map_or(whole.span(), |ty| ty.span());
            let err_span = err.as_ref().map_or(whole.span(), |ty| ty.span());
            let response = quote_spanned!(ok_span=> #private::response(value));
            let error = error_conversion(err_span, &private);
            quote! {
                match __scf_output {
                    ::core::result::Result::Ok(value) => ::core::result::Result::Ok(#response),
                    ::core::result::Result::Err(error) => ::core::result::Result::Err(#error),
                }
            }
        }
    };

    quote! {
        #private::service_fn(
            move |__scf_event: #event_param, __scf_ctx: #private::Context| async move {
                let __scf_output = #call;
                #convert
            }
        )
    }
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
