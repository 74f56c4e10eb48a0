//! What the test modules share.

pub(crate) mod browser;
pub(crate) mod fake_cloud;
pub(crate) mod host;
pub(crate) mod kafka;
pub(crate) mod ports;
pub(crate) mod pypi;
pub(crate) mod recorder;
pub(crate) mod tools;
