//! Handlers annotated with `#[scf::function]` stay ordinary functions: tests call them
//! directly, and they plug into the runtime by hand when `main = false`.

use scf::Context;
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Deserialize)]
struct Order {
    qty: u32,
    unit_price: u32,
}

#[derive(Serialize, Debug, PartialEq)]
struct Quote {
    total: u32,
    request_id: String,
}

#[derive(Debug)]
struct TooLarge(u32);

impl std::fmt::Display for TooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} items is more than one order may hold", self.0)
    }
}

impl std::error::Error for TooLarge {}

#[scf::function(main = false)]
async fn quote(order: Order, ctx: Context) -> Result<Quote, TooLarge> {
    if order.qty > 1000 {
        return Err(TooLarge(order.qty));
    }
    Ok(Quote {
        total: order.qty * order.unit_price,
        request_id: ctx.request_id().to_owned(),
    })
}

#[scf::function(main = false)]
fn shout(text: String) -> String {
    text.to_uppercase()
}

#[tokio::test]
async fn an_annotated_async_handler_is_called_directly() {
    let ctx = Context::builder().request_id("req-7").build();
    let answer = quote(
        Order {
            qty: 3,
            unit_price: 5,
        },
        ctx,
    )
    .await
    .unwrap();
    assert_eq!(
        answer,
        Quote {
            total: 15,
            request_id: "req-7".into()
        }
    );
    let err = quote(
        Order {
            qty: 5000,
            unit_price: 1,
        },
        Context::default(),
    )
    .await
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "5000 items is more than one order may hold"
    );
}

#[test]
fn an_annotated_sync_handler_is_called_directly() {
    assert_eq!(shout("hi".into()), "HI");
}

#[tokio::test]
async fn with_main_false_the_handler_runs_under_the_runtime_by_hand() {
    let outcome = scf::testing::invoke(
        scf::service_fn(quote),
        json!({ "qty": 2, "unit_price": 21 }).to_string(),
    )
    .await;
    assert_eq!(outcome.json()["total"], json!(42));

    let outcome = scf::testing::invoke(
        scf::service_fn(quote),
        json!({ "qty": 2000, "unit_price": 1 }).to_string(),
    )
    .await;
    assert_eq!(outcome.error_type().as_deref(), Some("TooLarge"));
}

/// The conversion `#[scf::function]` emits for a handler's error, written out as it is
/// generated (`scf::__private` names, the same trait imports), on types of this crate.
macro_rules! generated_conversion {
    ($error:expr) => {{
        #[allow(unused_imports)]
        use scf::__private::{OtherErrorKind as _, ScfErrorKind as _, StdErrorKind as _};
        let __scf_error = $error;
        #[allow(clippy::needless_borrow)]
        (&__scf_error).__scf_error_kind().convert(__scf_error)
    }};
}

/// Only `Display`, not a `std::error::Error`.
struct OutOfStock(&'static str);

impl std::fmt::Display for OutOfStock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} is out of stock", self.0)
    }
}

#[test]
fn handler_errors_convert_as_the_macro_does() {
    let err = generated_conversion!(OutOfStock("tea"));
    assert_eq!(err.error_type(), "OutOfStock");
    assert_eq!(err.to_string(), "tea is out of stock");

    let err = generated_conversion!(TooLarge(5000));
    assert_eq!(err.error_type(), "TooLarge");
    assert!(err.downcast_ref::<TooLarge>().is_some());

    let io = std::io::Error::other("disk full");
    let err = generated_conversion!(scf::Error::from(io).with_error_type("Storage"));
    assert_eq!((err.error_type(), err.message()), ("Storage", "disk full"));

    let boxed: scf::BoxError = Box::new(TooLarge(7));
    let err = generated_conversion!(boxed);
    assert_eq!(err.error_type(), "Error");
    assert!(err.downcast_ref::<TooLarge>().is_some());

    let err = generated_conversion!(String::from("plain"));
    assert_eq!((err.error_type(), err.message()), ("Error", "plain"));
}
