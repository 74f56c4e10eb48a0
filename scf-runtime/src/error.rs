//! Errors a handler returns, and the JSON body posted to `/runtime/invocation/error`.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};

/// A boxed `std::error::Error`, as tower's `BoxError`.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// An error returned by a handler, reported to the platform as
/// `{"errorType", "errorMessage", "stackTrace"}`.
///
/// # What converts into it
///
/// | From | How | `errorType` | `stackTrace` |
/// |---|---|---|---|
/// | any `std::error::Error + Send + Sync + 'static` | `?`, `.into()`, [`Error::from`] | the concrete type's short name (`MyError`, never `Box<dyn Error>`) | its `source()` chain |
/// | a message (`&str`, `String`, `format_args!`, any `Display`) | [`Error::msg`] | `Error` | empty |
/// | a type and a message | [`Error::new`] | as given | empty |
/// | a `Box<dyn Error + Send + Sync>` | [`Error::from_boxed`] | `Error` (or the original's, if it was an `scf::Error`) | its `source()` chain |
///
/// A converted `std::error::Error` is kept for [`downcast_ref`](Self::downcast_ref).
///
/// Strings do not convert with `?`: like `anyhow::Error`, this type converts from every
/// `std::error::Error`, and the compiler will not allow a second conversion from `String`
/// or `&str` beside it (the standard library may one day make them errors). Wrap them with
/// [`Error::msg`]:
///
/// ```
/// use scf_runtime::Error;
///
/// fn price(sku: &str) -> Result<u64, Error> {
///     let cents: u64 = sku.strip_prefix("sku-").ok_or_else(|| Error::msg("no sku- prefix"))?.parse()?;
///     if cents == 0 {
///         return Err(Error::msg(format_args!("{sku} is free")));
///     }
///     Ok(cents)
/// }
///
/// assert_eq!(price("sku-250").unwrap(), 250);
/// assert_eq!(price("250").unwrap_err().to_string(), "no sku- prefix");
/// let err = price("sku-x").unwrap_err();
/// assert_eq!(err.error_type(), "ParseIntError");
/// assert!(err.downcast_ref::<std::num::ParseIntError>().is_some());
/// ```
///
/// `#[scf::function]` handlers may return any `Display` error type as well; the macro
/// converts it with its type name as `errorType`.
///
/// # Printing it, and handing it on
///
/// `{}` shows the message; `{:#}` appends the causes (`message: cause: cause`); `{:?}`
/// shows `errorType: message` and one `caused by:` line per cause.
///
/// Like `anyhow::Error`, it does not implement `std::error::Error` itself (that is what
/// lets every `std::error::Error` convert into it). Where one is expected, `?` and
/// `.into()` turn it into a `Box<dyn std::error::Error + Send + Sync>` (or without
/// `Send + Sync`), and [`as_ref`](AsRef::as_ref) lends it as a
/// `&(dyn std::error::Error + Send + Sync)`; both display the message and expose the same
/// `source()` chain, and [`Error::from_boxed`] turns the box back into the same `Error`.
///
/// ```
/// use scf_runtime::Error;
///
/// #[derive(Debug)]
/// struct NotFound;
/// impl std::fmt::Display for NotFound {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
///         f.write_str("no such user")
///     }
/// }
/// impl std::error::Error for NotFound {}
///
/// let err = Error::from(NotFound);
/// assert_eq!(err.error_type(), "NotFound");
/// assert_eq!(err.to_string(), "no such user");
///
/// fn elsewhere() -> Result<(), Box<dyn std::error::Error>> {
///     Err(Error::from(NotFound))?
/// }
/// assert_eq!(elsewhere().unwrap_err().to_string(), "no such user");
/// ```
pub struct Error {
    inner: Box<Inner>,
}

/// The error's state; also what [`Error`] lends or boxes as a `std::error::Error`.
struct Inner {
    error_type: Cow<'static, str>,
    message: String,
    chain: Vec<String>,
    source: Option<BoxError>,
}

impl Error {
    /// An error with an explicit `errorType` and message.
    pub fn new(error_type: impl Into<Cow<'static, str>>, message: impl fmt::Display) -> Self {
        Self::from_parts(error_type.into(), message.to_string(), Vec::new(), None)
    }

    /// An error with `errorType` `Error` and the given message: the way to return a
    /// `&str`, a `String` or a `format_args!` as an error.
    ///
    /// ```
    /// let err = scf_runtime::Error::msg(format_args!("order {} not found", 7));
    /// assert_eq!(err.error_type(), "Error");
    /// assert_eq!(err.to_string(), "order 7 not found");
    /// ```
    pub fn msg(message: impl fmt::Display) -> Self {
        Self::new("Error", message)
    }

    fn from_parts(
        error_type: Cow<'static, str>,
        message: String,
        chain: Vec<String>,
        source: Option<BoxError>,
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

    /// Converts a `std::error::Error`, keeping its concrete type name as `errorType`, its
    /// `source()` chain as `stackTrace`, and the error itself for
    /// [`downcast_ref`](Self::downcast_ref). The same as [`Error::from`] and `?`.
    pub fn from_std<E>(err: E) -> Self
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        Self::from_source(short_type_name(std::any::type_name::<E>()), Box::new(err))
    }

    /// Converts a boxed error, keeping its `source()` chain as `stackTrace` and the error
    /// for [`downcast_ref`](Self::downcast_ref). The box's concrete type is unknown, so
    /// `errorType` is `Error`, unless the box holds an `Error` converted with `.into()`,
    /// which comes back unchanged.
    ///
    /// ```
    /// use scf_runtime::{BoxError, Error};
    ///
    /// let boxed: BoxError = Error::new("Declined", "card declined").into();
    /// let err = Error::from_boxed(boxed);
    /// assert_eq!(err.error_type(), "Declined");
    ///
    /// let boxed: BoxError = "timed out".into();
    /// assert_eq!(Error::from_boxed(boxed).to_string(), "timed out");
    /// ```
    pub fn from_boxed(err: BoxError) -> Self {
        Self::from_source("Error", err)
    }

    /// Converts anything `Into<BoxError>` (a `std::error::Error`, a box, a string, an
    /// `Error`), naming it after `E`; what a service's error goes through.
    pub(crate) fn from_into_boxed<E: Into<BoxError>>(err: E) -> Self {
        Self::from_source(short_type_name(std::any::type_name::<E>()), err.into())
    }

    /// Converts a type that is only `Display`, naming it after `T`.
    pub(crate) fn from_display<T: fmt::Display>(value: T) -> Self {
        Self::new(short_type_name(std::any::type_name::<T>()), value)
    }

    fn from_source(error_type: &'static str, err: BoxError) -> Self {
        let err = match err.downcast::<Inner>() {
            Ok(inner) => return Self { inner },
            Err(err) => err,
        };
        let message = err.to_string();
        let mut chain = Vec::new();
        let mut source = err.source();
        while let Some(cause) = source {
            chain.push(cause.to_string());
            source = cause.source();
        }
        Self::from_parts(Cow::Borrowed(error_type), message, chain, Some(err))
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

/// `?` and `.into()` from every `std::error::Error`: see [`Error::from_std`].
impl<E> From<E> for Error
where
    E: std::error::Error + Send + Sync + 'static,
{
    fn from(err: E) -> Self {
        Self::from_std(err)
    }
}

/// The message; with `{:#}`, followed by each cause (`message: cause: cause`).
impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())?;
        if f.alternate() {
            for cause in self.chain() {
                write!(f, ": {cause}")?;
            }
        }
        Ok(())
    }
}

/// `errorType: message`, then one `caused by:` line per cause.
impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error_type(), self.message())?;
        for cause in self.chain() {
            write!(f, "\n  caused by: {cause}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Inner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for Inner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error_type, self.message)?;
        for cause in &self.chain {
            write!(f, "\n  caused by: {cause}")?;
        }
        Ok(())
    }
}

/// The message, with the original error's causes as `source()`.
impl std::error::Error for Inner {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref()?.source()
    }
}

impl From<Error> for Box<dyn std::error::Error + Send + Sync + 'static> {
    fn from(err: Error) -> Self {
        err.inner
    }
}

impl From<Error> for Box<dyn std::error::Error + 'static> {
    fn from(err: Error) -> Self {
        err.inner
    }
}

impl AsRef<dyn std::error::Error + Send + Sync + 'static> for Error {
    fn as_ref(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        &*self.inner
    }
}

impl AsRef<dyn std::error::Error + 'static> for Error {
    fn as_ref(&self) -> &(dyn std::error::Error + 'static) {
        &*self.inner
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
        assert_eq!(Error::from_display(Generic(0)).error_type(), "Generic");
    }

    #[test]
    fn display_only_types_convert_with_their_name() {
        let err = Error::from_display(Generic(1u8));
        assert_eq!(err.error_type(), "Generic");
        assert_eq!(err.message(), "generic 1");
        let err = Error::from_display(String::from("owned"));
        assert_eq!(err.error_type(), "Error");
        assert_eq!(err.message(), "owned");
    }

    #[test]
    fn strings_have_a_plain_type_and_no_stack() {
        let err = Error::msg("bad things");
        assert_eq!(err.error_type(), "Error");
        let json = String::from_utf8(err.to_diagnostic().to_json()).unwrap();
        assert_eq!(json, r#"{"errorType":"Error","errorMessage":"bad things"}"#);
    }

    #[test]
    fn display_is_the_message_and_alternate_adds_the_causes() {
        let err = Error::from(Outer(std::io::Error::other("disk on fire")));
        assert_eq!(err.to_string(), "loading the profile failed");
        assert_eq!(format!("{err}"), "loading the profile failed");
        assert_eq!(
            format!("{err:#}"),
            "loading the profile failed: disk on fire"
        );
        assert_eq!(
            format!("{err:?}"),
            "Outer: loading the profile failed\n  caused by: disk on fire"
        );
        let plain = Error::new("Declined", "card declined");
        assert_eq!(
            format!("{plain} / {plain:#}"),
            "card declined / card declined"
        );
    }

    #[test]
    fn question_mark_keeps_type_chain_and_original() {
        fn read() -> Result<(), Error> {
            Err(Outer(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "profile.toml",
            )))?;
            Ok(())
        }
        fn open() -> Result<(), Error> {
            Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "profile.toml",
            ))?;
            Ok(())
        }
        let err = read().unwrap_err();
        assert_eq!(err.error_type(), "Outer");
        assert_eq!(err.chain(), ["profile.toml"]);
        let outer = err.downcast_ref::<Outer>().expect("the original is kept");
        assert_eq!(outer.0.kind(), std::io::ErrorKind::NotFound);

        let err = open().unwrap_err();
        assert_eq!(err.error_type(), "Error", "std::io::Error's short name");
        assert_eq!(err.message(), "profile.toml");
        assert_eq!(
            err.downcast_ref::<std::io::Error>()
                .map(std::io::Error::kind),
            Some(std::io::ErrorKind::NotFound)
        );
        assert!(err.downcast_ref::<Outer>().is_none());
    }

    #[test]
    fn boxed_it_is_a_std_error_with_the_same_text_and_causes() {
        let err = Error::from(Outer(std::io::Error::other("disk on fire")));
        let boxed: Box<dyn std::error::Error + Send + Sync> = err.into();
        assert_eq!(boxed.to_string(), "loading the profile failed");
        assert_eq!(boxed.source().unwrap().to_string(), "disk on fire");
        assert!(boxed.source().unwrap().source().is_none());

        // Back again, unchanged.
        let err = Error::from_boxed(boxed).with_error_type("Renamed");
        let boxed: Box<dyn std::error::Error> = err.into();
        fn back(err: Box<dyn std::error::Error>) -> String {
            format!("{err}")
        }
        assert_eq!(back(boxed), "loading the profile failed");

        let err = Error::from(Outer(std::io::Error::other("x"))).with_error_type("Renamed");
        let again = Error::from_boxed(err.into());
        assert_eq!(again.error_type(), "Renamed");
        assert_eq!(again.chain(), ["x"]);
        assert!(again.downcast_ref::<Outer>().is_some());

        fn main_like() -> Result<(), Box<dyn std::error::Error>> {
            Err(Error::msg("from main"))?;
            Ok(())
        }
        assert_eq!(main_like().unwrap_err().to_string(), "from main");

        let err = Error::from(Outer(std::io::Error::other("cause")));
        let std_err: &(dyn std::error::Error + Send + Sync) = err.as_ref();
        assert_eq!(std_err.to_string(), err.to_string());
        assert_eq!(std_err.source().unwrap().to_string(), "cause");
    }

    #[test]
    fn boxes_and_strings_keep_their_chain_under_a_plain_type() {
        let boxed: BoxError = Box::new(Outer(std::io::Error::other("inner")));
        let err = Error::from_boxed(boxed);
        assert_eq!(err.error_type(), "Error");
        assert_eq!(err.chain(), ["inner"]);
        assert!(err.downcast_ref::<Outer>().is_some());

        let err = Error::from_into_boxed(Outer(std::io::Error::other("inner")));
        assert_eq!(err.error_type(), "Outer");
        let err = Error::from_into_boxed("just text");
        assert_eq!((err.error_type(), err.message()), ("Error", "just text"));
        let err = Error::from_into_boxed(Error::new("Kept", "as is"));
        assert_eq!((err.error_type(), err.message()), ("Kept", "as is"));
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
