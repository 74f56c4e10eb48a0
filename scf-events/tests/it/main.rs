//! The integration tests of scf-events, one module per former test file: fixtures per trigger,
//! `AnyEvent` detection, the `http` adapter and the property tests. Modules whose types need
//! a cargo feature are compiled only with it.

mod any_event;
#[cfg(feature = "apigw")]
mod apigw;
#[cfg(feature = "ckafka")]
mod ckafka;
#[cfg(feature = "clb")]
mod clb;
#[cfg(feature = "cls")]
mod cls;
#[cfg(feature = "cmq")]
mod cmq;
#[cfg(feature = "cos")]
mod cos;
#[cfg(feature = "timer")]
mod cron;
mod custom_serde_b;
#[cfg(feature = "eventbridge")]
mod eventbridge;
#[cfg(feature = "fixtures")]
mod fixtures;
#[cfg(feature = "function_url")]
mod function_url;
#[cfg(all(feature = "http", feature = "apigw", feature = "function_url"))]
mod http_adapter;
mod integrated_response;
#[cfg(feature = "mps")]
mod mps;
#[cfg(feature = "mqtt")]
mod mqtt;
#[cfg(all(feature = "apigw", feature = "function_url", feature = "clb"))]
mod proptest_http;
#[cfg(all(
    feature = "timer",
    feature = "cos",
    feature = "ckafka",
    feature = "cmq",
    feature = "cls",
    feature = "mps",
    feature = "eventbridge",
    feature = "mqtt"
))]
mod proptest_queues;
mod support;
#[cfg(feature = "timer")]
mod timer;
