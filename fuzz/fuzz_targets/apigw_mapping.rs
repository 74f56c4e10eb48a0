//! The HTTP triggers' request -> event mapping (API gateway and Function URL) and the answer
//! mapping (a function's integrated response -> HTTP). The input is a route template, then a
//! request:
//!
//! ```text
//! /users/{id}
//! POST /users/42?lang=en&tag=a&tag=b
//! content-type: application/json
//! x-token: secret
//!
//! {"a": 1}
//! ```
//!
//! A request the route matches becomes an event that the server's own acceptance check passes
//! (`scf_events::json::validate`), that `detect` calls `apigw`, and that parses as
//! `ApiGatewayRequest` with the request's method, path, id and exact body bytes; the same for
//! a Function URL under `/fn/<name>/`. Any body as a function's answer is an HTTP response or a
//! "malformed" error, never a panic.
#![no_main]

use std::net::SocketAddr;

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

use scf_events::{ApiGatewayRequest, FunctionUrlRequest, detect};
use scf_fuzz::{header_map, split_message};
use scf_runtime_server::config::{ApigwRoute, ApigwTriggerConfig};
use scf_runtime_server::triggers::request::HttpRequest;
use scf_runtime_server::triggers::{apigw, function_url, response};

/// The event as the server sends it: JSON text its acceptance check takes.
/// `event` as `T`, or a panic showing why not.
fn parse<T: serde::de::DeserializeOwned>(event: &Value) -> T {
    serde_json::from_value(event.clone()).unwrap_or_else(|e| panic!("{e}: {event}"))
}

fn accepted(event: &Value) {
    let text = serde_json::to_vec(event).expect("an event serialises");
    if let Err(e) = scf_events::json::validate(&text) {
        panic!("the server refuses its own event ({e}): {event}");
    }
}

fuzz_target!(|data: &[u8]| {
    let message = split_message(data);
    let line = |i: usize| {
        message
            .lines
            .get(i)
            .and_then(|l| std::str::from_utf8(l).ok())
    };
    let (Some(template), Some(request_line)) = (line(0), line(1)) else {
        return;
    };
    let Some((method, target)) = request_line.split_once(' ') else {
        return;
    };
    let Ok(request) = http::Request::builder().method(method).uri(target).body(()) else {
        return; // what hyper would refuse before any trigger sees it
    };
    let (mut parts, ()) = request.into_parts();
    parts.headers = header_map(&message.lines[2..]);
    let body = Bytes::copy_from_slice(message.body);
    let peer: SocketAddr = "10.1.2.3:5555".parse().unwrap();
    let req = HttpRequest::from_parts(&parts, body.clone(), peer);

    let mut config = ApigwTriggerConfig::new(template);
    config.query_parameters = vec!["lang".into(), "tag".into()];
    config.header_parameters = vec!["X-Token".into(), "content-type".into()];
    if let Ok(route) = ApigwRoute::new("fuzz", &config)
        && let Some((_, params)) = route.template.matches(&req.path)
    {
        let event = apigw::build_event(&route, &req, &params, "rid-fuzz");
        accepted(&event);
        assert_eq!(detect(&event), Some("apigw"), "{event}");
        let parsed: ApiGatewayRequest = parse(&event);
        assert_eq!(parsed.request_id(), Some("rid-fuzz"));
        assert_eq!(parsed.http_method, req.method.as_str());
        assert_eq!(parsed.path, req.path);
        assert_eq!(
            parsed.body_bytes().expect("the body decodes").as_ref(),
            &body[..]
        );
        for (name, value) in &params {
            assert_eq!(parsed.path_parameters.get(name), Some(value), "{event}");
        }
    }
    if let Some((_, path)) = function_url::split_path(&req.path) {
        let event = function_url::build_event(&req, &path);
        accepted(&event);
        assert_eq!(detect(&event), Some("function_url"), "{event}");
        let parsed: FunctionUrlRequest = parse(&event);
        assert_eq!(parsed.path, path);
        assert_eq!(
            parsed.body_bytes().expect("the body decodes").as_ref(),
            &body[..]
        );
    }
    if let Ok(answer) = response::parse_integrated(&body) {
        let _ = answer.status();
    }
});
