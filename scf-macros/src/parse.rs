//! Parsing: the attribute's options into [`RawOption`]s and the item into a `fn`.
//!
//! Parsing is deliberately loose: every `key = value` is kept with its spans, and the
//! checks that can fail on well-formed Rust (unknown keys, bad values, duplicates) are left
//! to `validate`, so all of them are reported together.

use proc_macro2::{Delimiter, Span, TokenStream, TokenTree};
use quote::ToTokens;
use syn::parse::{Parse, ParseStream, Parser};
use syn::spanned::Spanned;
use syn::{Expr, Ident, ItemFn, Token};

/// One `key = value` (or a bare `key`) from `#[scf::function(...)]`.
pub(crate) struct RawOption {
    /// The key as written (`crate` included, though it is a keyword).
    pub(crate) key: Ident,
    /// The value, when there is an `=`.
    pub(crate) value: Option<Expr>,
}

impl Parse for RawOption {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let key = if input.peek(Token![crate]) {
            let token: Token![crate] = input.parse()?;
            Ident::new("crate", token.span)
        } else {
            input.call(syn::ext::IdentExt::parse_any).map_err(|_| {
                syn::Error::new(
                    input.span(),
                    "expected an option such as `init = setup`; \
                     the options are `init`, `main`, `flavor`, `crate` and `timeout_margin_ms`",
                )
            })?
        };
        let value = if input.peek(Token![=]) {
            input.parse::<Token![=]>()?;
            if input.is_empty() {
                return Err(syn::Error::new(
                    input.span(),
                    format_args!("expected a value after `{key} =`"),
                ));
            }
            Some(input.parse::<Expr>()?)
        } else {
            None
        };
        if !input.is_empty() {
            return Err(syn::Error::new(
                input.span(),
                "unexpected tokens; options are separated by commas: `init = setup, flavor = \"multi_thread\"`",
            ));
        }
        Ok(Self { key, value })
    }
}

/// Splits the attribute's tokens at top-level commas and parses each piece on its own,
/// so one malformed option does not hide the others.
pub(crate) fn options(args: TokenStream) -> (Vec<RawOption>, Option<syn::Error>) {
    let mut options = Vec::new();
    let mut errors: Option<syn::Error> = None;
    let mut piece = TokenStream::new();
    let mut flush = |piece: &mut TokenStream, comma: Option<Span>| {
        let tokens = std::mem::take(piece);
        if tokens.is_empty() {
            if let Some(span) = comma {
                push(
                    &mut errors,
                    syn::Error::new(span, "unexpected `,`: an option is missing here"),
                );
            }
            return;
        }
        match RawOption::parse.parse2(tokens) {
            Ok(option) => options.push(option),
            Err(err) => push(&mut errors, err),
        }
    };
    for tree in args {
        match &tree {
            TokenTree::Punct(p) if p.as_char() == ',' => {
                flush(&mut piece, Some(p.span()));
            }
            _ => piece.extend([tree]),
        }
    }
    // A trailing comma leaves an empty last piece, which is fine.
    flush(&mut piece, None);
    (options, errors)
}

/// What the attribute was placed on.
pub(crate) enum Input {
    /// A function (free or, mistakenly, a method).
    Fn(Box<ItemFn>),
    /// Anything else, kept as tokens so it can be emitted unchanged.
    Other(TokenStream, syn::Error),
}

/// Parses the annotated item.
pub(crate) fn item(tokens: TokenStream) -> Input {
    match syn::parse2::<ItemFn>(tokens.clone()) {
        Ok(item) => Input::Fn(Box::new(item)),
        Err(_) => {
            let err = syn::Error::new(
                first_keyword_span(&tokens),
                "`#[scf::function]` goes on the handler function\n\
                 help: write it on an `async fn` (or a `fn`) that takes the event: \
                 `#[scf::function] async fn handler(event: serde_json::Value) -> Result<serde_json::Value, scf::Error>`",
            );
            Input::Other(tokens, err)
        }
    }
}

/// The span of the item's leading keyword (`struct`, `impl`, `mod`...), past any
/// attributes and visibility, or the whole item's when there is none.
fn first_keyword_span(tokens: &TokenStream) -> Span {
    let mut iter = tokens.clone().into_iter().peekable();
    while let Some(tree) = iter.next() {
        match &tree {
            TokenTree::Punct(p) if p.as_char() == '#' => {
                // `#[...]`: skip the bracketed group too.
                iter.next();
            }
            TokenTree::Ident(ident) if ident == "pub" => {
                if let Some(TokenTree::Group(g)) = iter.peek()
                    && g.delimiter() == Delimiter::Parenthesis
                {
                    iter.next();
                }
            }
            TokenTree::Ident(_) => return tree.span(),
            _ => return tree.span(),
        }
    }
    tokens.span()
}

/// Appends `err` to the running error.
pub(crate) fn push(errors: &mut Option<syn::Error>, err: syn::Error) {
    match errors {
        Some(existing) => existing.combine(err),
        None => *errors = Some(err),
    }
}

/// Whether `tokens` mention `impl` anywhere (an `impl Trait`, however deeply nested).
pub(crate) fn find_impl_keyword(tokens: &impl ToTokens) -> Option<Span> {
    fn walk(stream: TokenStream) -> Option<Span> {
        for tree in stream {
            match tree {
                TokenTree::Ident(ident) if ident == "impl" => return Some(ident.span()),
                TokenTree::Group(group) => {
                    if let Some(span) = walk(group.stream()) {
                        return Some(span);
                    }
                }
                _ => {}
            }
        }
        None
    }
    walk(tokens.to_token_stream())
}
