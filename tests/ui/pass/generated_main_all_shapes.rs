//! Every shape with a generated `main`: each handler lives in its own module, so each
//! module gets its own `main`, which this file's `main` only names (running one would
//! need the platform's runtime API).

#![deny(warnings)] // the generated code is warning-free

use scf::Context;
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
struct Order {
    qty: u32,
}

#[derive(Serialize, Debug, PartialEq)]
struct Receipt {
    total: u32,
}

struct Prices {
    unit: u32,
}

async fn setup() -> Result<Prices, std::io::Error> {
    Ok(Prices { unit: 3 })
}

mod event_only {
    #[scf::function]
    pub async fn handler(order: super::Order) -> super::Receipt {
        super::Receipt { total: order.qty }
    }
}

mod event_and_context {
    #[scf::function]
    pub async fn handler(order: super::Order, ctx: scf::Context) -> Result<super::Receipt, scf::Error> {
        let _ = ctx.request_id();
        Ok(super::Receipt { total: order.qty })
    }
}

mod event_and_context_ref {
    #[scf::function(flavor = "current_thread", timeout_margin_ms = 250)]
    pub async fn handler(order: super::Order, ctx: &scf::Context) -> Result<super::Receipt, String> {
        let _ = ctx.remaining();
        Ok(super::Receipt { total: order.qty })
    }
}

mod with_state {
    use super::{Order, Prices, Receipt, setup};

    #[scf::function(init = setup)]
    pub async fn handler(order: Order, ctx: scf::Context, prices: &Prices) -> Result<Receipt, scf::Error> {
        let _ = ctx;
        Ok(Receipt { total: order.qty * prices.unit })
    }
}

mod state_before_context {
    use super::{Order, Prices, Receipt, setup};

    #[scf::function(init = setup)]
    pub async fn handler(order: Order, prices: &Prices, ctx: &scf::Context) -> Receipt {
        let _ = ctx;
        Receipt { total: order.qty * prices.unit }
    }
}

mod sync_with_state {
    use super::{Order, Prices, Receipt, setup};

    #[scf::function(init = setup)]
    pub fn handler(order: Order, prices: &Prices) -> Result<Receipt, std::io::Error> {
        Ok(Receipt { total: order.qty * prices.unit })
    }
}

mod sync_unit {
    #[scf::function]
    pub fn handler(_event: serde::de::IgnoredAny) {}
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    // The generated `main`s exist and have the right type.
    let _: [fn(); 7] = [
        event_only::main,
        event_and_context::main,
        event_and_context_ref::main,
        with_state::main,
        state_before_context::main,
        sync_with_state::main,
        sync_unit::main,
    ];
    let prices = setup().await.unwrap();
    let receipt = with_state::handler(Order { qty: 2 }, Context::default(), &prices)
        .await
        .unwrap();
    assert_eq!(receipt, Receipt { total: 6 });
    let receipt = sync_with_state::handler(Order { qty: 5 }, &prices).unwrap();
    assert_eq!(receipt, Receipt { total: 15 });
    sync_unit::handler(serde::de::IgnoredAny);
}
