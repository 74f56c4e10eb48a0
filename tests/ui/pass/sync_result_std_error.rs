//! A sync `fn(E, Context) -> Result<R, E>` where `E` is a `std::error::Error`.

use std::num::ParseIntError;

#[scf::function(main = false)]
fn parse(text: String, _ctx: scf::Context) -> Result<i64, ParseIntError> {
    text.trim().parse()
}

fn main() {
    assert_eq!(parse(" 7 ".into(), scf::Context::default()), Ok(7));
    assert!(parse("seven".into(), scf::Context::default()).is_err());
}
