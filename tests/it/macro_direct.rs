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
