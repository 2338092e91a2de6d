//! The awsJson1_0 wire: answers are `application/x-amz-json-1.0` bodies;
//! errors are `{"__type": …, "Message": …}` with a 4xx status (5xx only when
//! a fault rule asks for one), so the SDK builds typed errors from them.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode};
use http_body_util::Full;
use serde_json::{Value, json};

use crate::error::ApiError;

/// The content type of every App Runner answer.
pub(crate) const CONTENT_TYPE: &str = "application/x-amz-json-1.0";

/// A response body type for the whole server.
pub(crate) type Body = Full<Bytes>;

/// A JSON answer with `status`.
pub(crate) fn json_response(status: u16, value: &Value, content_type: &str) -> Response<Body> {
    let body = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    if let Ok(v) = HeaderValue::from_str(content_type) {
        response.headers_mut().insert(http::header::CONTENT_TYPE, v);
    }
    let request_id = request_id();
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-amzn-requestid", v);
    }
    response
}

/// A successful App Runner answer.
pub(crate) fn ok(value: &Value) -> Response<Body> {
    json_response(200, value, CONTENT_TYPE)
}

/// An App Runner error answer.
pub(crate) fn error(err: &ApiError) -> Response<Body> {
    let body = json!({ "__type": err.type_name(), "Message": err.message() });
    let mut response = json_response(err.status(), &body, CONTENT_TYPE);
    if let Ok(v) = HeaderValue::from_str(err.type_name()) {
        response.headers_mut().insert("x-amzn-errortype", v);
    }
    if let ApiError::Throttling {
        retry_after_ms: Some(ms),
        ..
    } = err
        && let Ok(v) = HeaderValue::from_str(&ms.to_string())
    {
        response.headers_mut().insert("x-amz-retry-after", v);
    }
    response
}

fn request_id() -> String {
    let n = fastrand::u128(..);
    let h = format!("{n:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}
