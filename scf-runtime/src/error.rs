//! Errors a handler returns, and the JSON body posted to `/runtime/invocation/error`.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};

/// An error returned by a handler, reported to the platform as
/// `{"errorType", "errorMessage", "stackTrace"}`.
///
/// Anything `Display`-able converts into it with `?` or `.into()`, keeping the concrete
/// type's short name as `errorType` (`MyError`, never `Box<dyn Error>`; plain strings
/// become `Error`). [`Error::from_std`] also keeps a `std::error::Error`'s `source()`
/// chain as `stackTrace`.
///
/// This type is deliberately not `Display` itself (that is what lets every `Display`
/// type convert into it); read it with [`message`](Self::message) and
/// [`error_type`](Self::error_type), or print it with `{:?}`.
///
/// ```
/// #[derive(Debug)]
/// struct NotFound;
/// impl std::fmt::Display for NotFound {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
///         f.write_str("no such user")
///     }
/// }
/// impl std::error::Error for NotFound {}
///
/// let err = scf_runtime::Error::from(NotFound);
/// assert_eq!(err.error_type(), "NotFound");
/// assert_eq!(err.message(), "no such user");
/// ```
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    error_type: Cow<'static, str>,
    message: String,
    chain: Vec<String>,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl Error {
    /// An error with an explicit `errorType` and message.
    pub fn new(error_type: impl Into<Cow<'static, str>>, message: impl fmt::Display) -> Self {
        Self::from_parts(error_type.into(), message.to_string(), Vec::new(), None)
    }

    /// An error with `errorType` `Error` and the given message.
    pub fn msg(message: impl fmt::Display) -> Self {
        Self::new("Error", message)
    }

    fn from_parts(
        error_type: Cow<'static, str>,
        message: String,
        chain: Vec<String>,
        source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Self {
        Self {
            inner: Box::new(Inner {
                error_type,
                message,
                chain,
                source,
            }),
        }
    }

    /// The `errorType` reported to the platform.
    pub fn error_type(&self) -> &str {
        &self.inner.error_type
    }

    /// The `errorMessage` reported to the platform: the error's `Display` text.
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    /// The `source()` chain, outermost cause first.
    pub fn chain(&self) -> &[String] {
        &self.inner.chain
    }

    /// The original error, when this was converted from one.
    pub fn source_error(&self) -> Option<&(dyn std::error::Error + Send + Sync + 'static)> {
        self.inner.source.as_deref()
    }

    /// Attempts to downcast the original error to `E`.
    pub fn downcast_ref<E: std::error::Error + 'static>(&self) -> Option<&E> {
        self.inner.source.as_deref()?.downcast_ref::<E>()
    }

    /// Replaces the `errorType`.
    pub fn with_error_type(mut self, error_type: impl Into<Cow<'static, str>>) -> Self {
        self.inner.error_type = error_type.into();
        self
    }

    /// The body posted to `/runtime/invocation/error`.
    pub fn to_diagnostic(&self) -> Diagnostic<'_> {
        Diagnostic {
            error_type: Cow::Borrowed(&self.inner.error_type),
            error_message: Cow::Borrowed(&self.inner.message),
            stack_trace: self
                .inner
                .chain
                .iter()
                .map(|s| Cow::Borrowed(&**s))
                .collect(),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error_type(), self.message())?;
        for cause in self.chain() {
            write!(f, "\n  caused by: {cause}")?;
        }
        Ok(())
    }
}

/// The last path segment of a type name, generics stripped:
/// `my_crate::errors::MyError<T>` becomes `MyError`. Strings and boxed trait objects,
/// whose concrete type says nothing, become `Error`.
pub(crate) fn short_type_name(full: &'static str) -> &'static str {
    let mut name = full.trim_start_matches('&').trim_start_matches("mut ");
    if name.starts_with("dyn ") || name.starts_with("alloc::boxed::Box<dyn ") {
        return "Error";
    }
    if let Some(base) = name.split('<').next() {
        name = base;
    }
    match name.rsplit("::").next().unwrap_or(name).trim() {
        "str" | "String" | "Cow" | "Arguments" | "" => "Error",
        short => short,
    }
}

/// Anything `Display`-able converts, with `errorType` = its concrete type's short name.
///
/// Use [`Error::from_std`] to also keep the `source()` chain of a
/// `std::error::Error` (`#[scf::function]` handlers do this automatically).
impl<T: fmt::Display> From<T> for Error {
    fn from(value: T) -> Self {
        Self::from_parts(
            Cow::Borrowed(short_type_name(std::any::type_name::<T>())),
            value.to_string(),
            Vec::new(),
            None,
        )
    }
}

impl Error {
    /// Converts a `std::error::Error`, keeping its concrete type name as `errorType`, its
    /// `source()` chain as `stackTrace`, and the error itself for
    /// [`downcast_ref`](Self::downcast_ref).
    pub fn from_std<E>(err: E) -> Self
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        let error_type = short_type_name(std::any::type_name::<E>());
        let message = err.to_string();
        let mut chain = Vec::new();
        let mut source = err.source();
        while let Some(cause) = source {
            chain.push(cause.to_string());
            source = cause.source();
        }
        Self::from_parts(
            Cow::Borrowed(error_type),
            message,
            chain,
            Some(Box::new(err)),
        )
    }
}

/// The JSON body posted to `/runtime/invocation/error`:
/// `{"errorType": ..., "errorMessage": ..., "stackTrace": [...]}` (`stackTrace` omitted when empty).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic<'a> {
    /// The concrete error type's short name.
    #[serde(rename = "errorType")]
    pub error_type: Cow<'a, str>,
    /// The error's `Display` text.
    #[serde(rename = "errorMessage")]
    pub error_message: Cow<'a, str>,
    /// The `source()` chain, outermost cause first.
    #[serde(rename = "stackTrace", default, skip_serializing_if = "Vec::is_empty")]
    pub stack_trace: Vec<Cow<'a, str>>,
}

impl Diagnostic<'_> {
    /// The compact JSON bytes.
    pub fn to_json(&self) -> Vec<u8> {
        // Serialising strings into a Vec cannot fail.
        serde_json::to_vec(self).unwrap_or_else(|_| b"{\"errorType\":\"Error\"}".to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Outer(std::io::Error);
    impl fmt::Display for Outer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("loading the profile failed")
        }
    }
    impl std::error::Error for Outer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[derive(Debug)]
    struct Generic<T>(T);
    impl<T: fmt::Debug> fmt::Display for Generic<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "generic {:?}", self.0)
        }
    }
    impl<T: fmt::Debug> std::error::Error for Generic<T> {}

    #[test]
    fn concrete_type_name_and_chain() {
        let err = Error::from_std(Outer(std::io::Error::other("disk on fire")));
        assert_eq!(err.error_type(), "Outer");
        assert_eq!(err.chain(), ["disk on fire"]);
        let json: serde_json::Value =
            serde_json::from_slice(&err.to_diagnostic().to_json()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "errorType": "Outer",
                "errorMessage": "loading the profile failed",
                "stackTrace": ["disk on fire"],
            })
        );
        assert!(err.downcast_ref::<Outer>().is_some());
    }

    #[test]
    fn generics_are_stripped() {
        let err = Error::from(Generic(vec![1u8]));
        assert_eq!(err.error_type(), "Generic");
    }

    #[test]
    fn display_types_convert_with_their_name() {
        let err = Error::from(Outer(std::io::Error::other("x")));
        assert_eq!(err.error_type(), "Outer");
        assert_eq!(err.message(), "loading the profile failed");
        let err = Error::from(String::from("owned"));
        assert_eq!(err.error_type(), "Error");
        let boxed: Box<dyn std::error::Error + Send + Sync> = "boxed".into();
        assert_eq!(Error::from(boxed).error_type(), "Error");
    }

    #[test]
    fn strings_have_a_plain_type_and_no_stack() {
        let err = Error::from("bad things");
        assert_eq!(err.error_type(), "Error");
        let json = String::from_utf8(err.to_diagnostic().to_json()).unwrap();
        assert_eq!(json, r#"{"errorType":"Error","errorMessage":"bad things"}"#);
    }

    #[test]
    fn short_names() {
        assert_eq!(short_type_name("a::b::C"), "C");
        assert_eq!(short_type_name("a::b::C<d::E, f::G>"), "C");
        assert_eq!(short_type_name("Plain"), "Plain");
        assert_eq!(short_type_name("&str"), "Error");
        assert_eq!(short_type_name("alloc::string::String"), "Error");
        assert_eq!(
            short_type_name("alloc::boxed::Box<dyn core::error::Error + Send + Sync>"),
            "Error"
        );
        assert_eq!(short_type_name("&my::Thing"), "Thing");
    }
}
