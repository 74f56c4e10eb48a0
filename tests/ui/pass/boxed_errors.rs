//! Boxed errors as handler and init errors, with generated `main`s: a
//! `Box<dyn Error + Send + Sync>` keeps its source chain, a `Box<dyn Error>` converts
//! through its `Display` text.

#![deny(warnings)] // the generated code is warning-free

type BoxError = Box<dyn std::error::Error + Send + Sync>;

async fn setup() -> Result<u32, BoxError> {
    Ok("7".parse::<u32>()?)
}

mod send_sync_box {
    #[scf::function(init = super::setup)]
    pub async fn handler(qty: u32, base: &u32) -> Result<u32, super::BoxError> {
        if qty == 0 { Err("no items".into()) } else { Ok(qty + base) }
    }
}

mod plain_box {
    #[scf::function]
    pub fn handler(qty: u32) -> Result<u32, Box<dyn std::error::Error>> {
        if qty == 0 { Err("no items".into()) } else { Ok(qty) }
    }
}

fn main() {
    let _ = (send_sync_box::main, plain_box::main);
}
