//! The integration tests of `scf-runtime-server`, one binary: each module is one area, and
//! `support` holds what they share (servers started by PID, free ports, the Kafka broker, the
//! Python packages some tests install).

mod async_serve;
mod ckafka_serve;
mod control_plane;
mod dashboard;
mod deploy_client;
mod deploy_serve;
mod durable_queue;
mod durable_scale;
mod hardening;
mod host_echo_example;
mod host_serve;
mod sandbox;
mod support;
mod tools_build;
mod tools_dev;
mod tools_invoke;
mod tools_new;
mod tools_package;
mod tools_verify;
mod triggers_ckafka;
mod triggers_http;
mod triggers_serve;
mod triggers_timer;
mod triggers_web;
