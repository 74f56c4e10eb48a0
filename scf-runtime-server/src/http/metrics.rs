//! `GET /metrics`: the host's counters in OpenMetrics text.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::HeaderValue;

use crate::http::AppState;

/// `GET /metrics`.
pub(crate) async fn metrics(State(state): State<AppState>) -> Response {
    let mut response = state.host.metrics_text().into_response();
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    response
}
