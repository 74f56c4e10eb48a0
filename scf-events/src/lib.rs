//! Typed events for every Tencent Cloud SCF trigger.

pub mod custom_serde;

#[cfg(feature = "apigw")]
pub mod apigw;
#[cfg(feature = "clb")]
pub mod clb;
#[cfg(feature = "function_url")]
pub mod function_url;

#[cfg(feature = "ckafka")]
pub mod ckafka;
#[cfg(feature = "cls")]
pub mod cls;
#[cfg(feature = "cmq")]
pub mod cmq;
#[cfg(feature = "cos")]
pub mod cos;
#[cfg(feature = "eventbridge")]
pub mod eventbridge;
#[cfg(feature = "mps")]
pub mod mps;
#[cfg(feature = "mqtt")]
pub mod mqtt;
#[cfg(feature = "timer")]
pub mod timer;
