//! API Gateway fixtures (requests and WebSocket events): concrete fields and round trips.

use scf_events::apigw::{
    ApiGatewayRequest, ApiGatewayWebSocketEvent, WebSocketAction, WebSocketDataType, WebSocketInfo,
    WebSocketReply,
};
use scf_events::custom_serde::query::QueryValue;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::support::fixture;

/// Parses, checks that serialising gives the input back exactly, and that it parses again equal.
fn round_trip<T: DeserializeOwned + Serialize + PartialEq + std::fmt::Debug>(name: &str) -> T {
    let input = fixture(name);
    let event: T = serde_json::from_value(input.clone()).unwrap();
    let out = serde_json::to_value(&event).unwrap();
    assert_eq!(out, input, "{name}: serialising changed the event");
    assert_eq!(serde_json::from_value::<T>(out).unwrap(), event, "{name}");
    event
}

#[test]
fn get_with_gateway_headers_and_every_query_form() {
    let e: ApiGatewayRequest = round_trip("apigw-get");
    assert_eq!(e.http_method, "GET");
    assert_eq!(e.path, "/test/value");
    assert_eq!(e.body, None);
    assert_eq!(e.body_bytes().unwrap().as_ref(), b"");
    assert!(!e.is_base64_encoded());
    assert!(e.is_base64_encoded.is_absent());
    assert_eq!(e.stage_variables, None);
    let ctx = &e.request_context;
    assert_eq!(ctx.service_id.as_deref(), Some("service-f94sy04v"));
    assert_eq!(ctx.path, "/test/{path}");
    assert_eq!(ctx.http_method, "ANY");
    assert_eq!(ctx.request_id, None);
    assert_eq!(ctx.stage, "release");
    assert_eq!(ctx.source_ip, "203.0.113.24");
    assert_eq!(ctx.identity.secret_id, None);
    // No requestId in the context: the header carries it.
    assert_eq!(e.request_id(), Some("24281851d905b02add0ec7b1f4d73a6d"));
    assert_eq!(e.header("X-Qualifier"), Some("$LATEST"));
    assert_eq!(
        e.header("x-b3-traceid"),
        Some("24281851d905b02add0ec7b1f4d73a6d")
    );
    assert_eq!(e.path_parameters["path"], "value");
    assert_eq!(
        e.query_string["tag"],
        QueryValue::Many(vec!["red".into(), "blue".into()])
    );
    assert_eq!(e.query_string["debug"], QueryValue::Flag);
    assert_eq!(e.query("page"), Some("2"));
    assert_eq!(e.query("tag"), Some("red"));
    assert_eq!(e.query("debug"), None);
    assert_eq!(e.uri(), "/test/value?debug&page=2&tag=red&tag=blue");
}

#[test]
fn post_with_escaped_json_body_and_filled_parameters() {
    let e: ApiGatewayRequest = round_trip("apigw-post-json");
    assert_eq!(e.http_method, "POST");
    // Title-Case headers (doc style), looked up in any case.
    assert_eq!(e.header("content-type"), Some("application/json"));
    assert_eq!(e.header("CONTENT-TYPE"), Some("application/json"));
    let body: Value = e.json().unwrap();
    assert_eq!(
        body,
        json!({"item": "book", "qty": 2, "note": "gift \"wrap\""})
    );
    let ctx = &e.request_context;
    assert_eq!(
        ctx.request_id.as_deref(),
        Some("c6af9ac6-7b61-11e6-9a41-93e8deadbeef")
    );
    assert_eq!(e.request_id(), ctx.request_id.as_deref());
    assert_eq!(
        ctx.identity.secret_id.as_deref(),
        Some("AKIDexampleSecretId123")
    );
    assert_eq!(ctx.stage, "test");
    assert_eq!(e.path_parameters["shop"], "north");
    assert_eq!(e.query_string_parameters["coupon"], "SPRING");
    assert_eq!(e.header_parameters["X-Trace"], "abc123");
    assert_eq!(e.stage_variables.as_ref().unwrap()["db"], "orders-test");
}

#[test]
fn base64_body_with_string_flag() {
    let e: ApiGatewayRequest = round_trip("apigw-base64-string-flag");
    assert!(e.is_base64_encoded());
    assert!(e.is_base64_encoded.is_string());
    assert_eq!(e.body_bytes().unwrap().as_ref(), b"name,qty\nbook,2\n");
    assert_eq!(e.query_string_parameters["dry_run"], "");
    assert_eq!(e.query("dry_run"), Some(""));
    // Serialised back as the string it was.
    assert_eq!(
        serde_json::to_value(&e).unwrap()["isBase64Encoded"],
        json!("true")
    );
}

#[test]
fn binary_upload_with_bool_flag() {
    let e: ApiGatewayRequest = round_trip("apigw-base64-bool");
    assert!(e.is_base64_encoded());
    let bytes = e.body_bytes().unwrap();
    assert_eq!(&bytes[..4], b"\x89PNG");
    assert_eq!(bytes.len(), 20);
    assert!(std::str::from_utf8(&bytes).is_err());
    assert!(e.json::<Value>().unwrap_err().is_json());
}

#[test]
fn null_parameter_maps_read_as_empty() {
    let input = fixture("apigw-null-maps");
    let e: ApiGatewayRequest = serde_json::from_value(input.clone()).unwrap();
    assert!(e.path_parameters.is_empty());
    assert!(e.header_parameters.is_empty());
    assert!(e.query_string_parameters.is_empty());
    assert_eq!(e.request_context.stage, "prepub");
    assert_eq!(e.request_id(), None);
    // `null` maps are written back as `{}`; everything else is unchanged.
    let mut expected = input;
    expected["pathParameters"] = json!({});
    expected["headerParameters"] = json!({});
    let out = serde_json::to_value(&e).unwrap();
    assert_eq!(out, expected);
    assert_eq!(serde_json::from_value::<ApiGatewayRequest>(out).unwrap(), e);
}

#[test]
fn function_url_events_parse_as_gateway_requests_too() {
    let e: ApiGatewayRequest = serde_json::from_value(fixture("function-url-post")).unwrap();
    assert_eq!(e.http_method, "POST");
    assert_eq!(e.request_context.service_id, None);
    assert_eq!(e.json::<Value>().unwrap()["hello"], "world");
}

#[test]
fn bad_bodies_and_shapes_are_errors_not_panics() {
    let mut v = fixture("apigw-base64-bool");
    v["body"] = json!("!!not base64!!");
    let e: ApiGatewayRequest = serde_json::from_value(v).unwrap();
    let err = e.body_bytes().unwrap_err();
    assert!(err.is_base64(), "{err}");
    let mut v = fixture("apigw-get");
    v["queryString"]["n"] = json!(5);
    let err = serde_json::from_value::<ApiGatewayRequest>(v)
        .unwrap_err()
        .to_string();
    assert!(err.contains("query value"), "{err}");
    let mut v = fixture("apigw-get");
    v["isBase64Encoded"] = json!(1);
    let err = serde_json::from_value::<ApiGatewayRequest>(v)
        .unwrap_err()
        .to_string();
    assert!(err.contains("boolean"), "{err}");
}

#[test]
fn websocket_connect_with_protocol_and_extensions() {
    let e: ApiGatewayWebSocketEvent = round_trip("apigw-ws-connect");
    assert_eq!(e.websocket.action, WebSocketAction::Connecting);
    assert_eq!(e.connection_id(), "ZjEwYjMwMzctY2JhOS00YWMxLWE1ZTM=");
    assert_eq!(
        e.websocket.sec_web_socket_protocol.as_deref(),
        Some("chat,binary")
    );
    assert_eq!(
        e.websocket.sec_web_socket_extensions.as_deref(),
        Some("permessage-deflate; client_max_window_bits")
    );
    let ctx = e.request_context.as_ref().unwrap();
    assert_eq!(ctx.service_name.as_deref(), Some("chat-service"));
    assert_eq!(ctx.service_id, None);
    assert_eq!(ctx.websocket_enable, Some(true));

    let reply = WebSocketReply::accept(&e);
    assert!(reply.is_accepted());
    let out = serde_json::to_value(&reply).unwrap();
    assert_eq!(out["errNo"], 0);
    assert_eq!(
        out["websocket"]["secConnectionID"],
        "ZjEwYjMwMzctY2JhOS00YWMxLWE1ZTM="
    );
    assert_eq!(out["websocket"]["action"], "connecting");
    assert_eq!(out["websocket"]["secWebSocketProtocol"], "chat,binary");
}

#[test]
fn websocket_connect_without_protocol() {
    let e: ApiGatewayWebSocketEvent = round_trip("apigw-ws-connect-minimal");
    assert_eq!(e.websocket.action, WebSocketAction::Connecting);
    assert_eq!(e.websocket.sec_web_socket_protocol, None);
    assert_eq!(e.websocket.sec_web_socket_extensions, None);
    let out = serde_json::to_value(WebSocketReply::accept(&e)).unwrap();
    assert!(out["websocket"].get("secWebSocketProtocol").is_none());
}

#[test]
fn websocket_accept_reply() {
    let r: WebSocketReply = round_trip("apigw-ws-connect-reply");
    assert!(r.is_accepted());
    assert_eq!(r.err_msg, "ok");
    let ws = r.websocket.unwrap();
    assert_eq!(ws.action, WebSocketAction::Connecting);
    assert_eq!(ws.sec_web_socket_protocol.as_deref(), Some("chat"));
    let refuse = serde_json::to_value(WebSocketReply::refuse(403, "banned")).unwrap();
    assert_eq!(refuse, json!({"errNo": 403, "errMsg": "banned"}));
}

#[test]
fn websocket_frames_and_close() {
    let e: ApiGatewayWebSocketEvent = round_trip("apigw-ws-data-text");
    assert_eq!(e.websocket.action, WebSocketAction::DataSend);
    assert_eq!(e.websocket.data_type, Some(WebSocketDataType::Text));
    assert!(e.request_context.is_none());
    assert_eq!(
        e.websocket.data_bytes().unwrap().as_ref(),
        br#"{"to":"room-1","text":"hi all"}"#
    );

    let e: ApiGatewayWebSocketEvent = round_trip("apigw-ws-data-binary");
    assert_eq!(e.websocket.data_type, Some(WebSocketDataType::Binary));
    assert_eq!(
        e.websocket.data_bytes().unwrap().as_ref(),
        &[0, 1, 2, 254, 255]
    );

    let e: ApiGatewayWebSocketEvent = round_trip("apigw-ws-close");
    assert_eq!(e.websocket.action, WebSocketAction::Closing);
    assert_eq!(e.websocket.data, None);
    assert_eq!(e.websocket.data_bytes().unwrap().as_ref(), b"");
}

#[test]
fn websocket_pushes_and_unknown_actions() {
    let push = serde_json::to_value(WebSocketInfo::binary_frame("id-1", &[1, 2, 3])).unwrap();
    assert_eq!(
        push,
        json!({"action": "data send", "secConnectionID": "id-1", "dataType": "binary", "data": "AQID"})
    );
    let text = serde_json::to_value(WebSocketInfo::text_frame("id-1", "hi")).unwrap();
    assert_eq!(text["dataType"], "text");
    assert_eq!(
        serde_json::to_value(WebSocketInfo::close("id-1")).unwrap(),
        json!({"action": "closing", "secConnectionID": "id-1"})
    );
    let e: ApiGatewayWebSocketEvent = serde_json::from_value(
        json!({"websocket": {"action": "data recv", "secConnectionID": "x"}}),
    )
    .unwrap();
    assert_eq!(e.websocket.action, WebSocketAction::DataRecv);
    let e: ApiGatewayWebSocketEvent =
        serde_json::from_value(json!({"websocket": {"action": "ping", "secConnectionID": "x"}}))
            .unwrap();
    assert_eq!(e.websocket.action, WebSocketAction::Other("ping".into()));
    assert_eq!(
        serde_json::to_value(&e).unwrap()["websocket"]["action"],
        "ping"
    );
}

#[cfg(feature = "catch-all-fields")]
#[test]
fn unknown_keys_round_trip() {
    let mut v = fixture("apigw-get");
    v["newTopLevel"] = json!({"a": 1});
    v["requestContext"]["newContextKey"] = json!("x");
    let e: ApiGatewayRequest = serde_json::from_value(v.clone()).unwrap();
    assert_eq!(e.other["newTopLevel"], json!({"a": 1}));
    assert_eq!(serde_json::to_value(&e).unwrap(), v);
}
