//! A one-parameter `Result` alias (as `anyhow::Result` is), and an error that is only
//! `Display`.

use std::fmt;

#[derive(Debug)]
struct Refused(&'static str);

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "refused: {}", self.0)
    }
}

type Result<T> = std::result::Result<T, Refused>;

#[scf::function(main = false)]
async fn handler(amount: u32) -> Result<u32> {
    if amount > 100 { Err(Refused("too much")) } else { Ok(amount) }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(handler(5).await.unwrap(), 5);
    assert_eq!(handler(500).await.unwrap_err().to_string(), "refused: too much");
}
