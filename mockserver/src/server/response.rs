//! What the transport sends: the body type and content types of its answers.

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::Response;

/// Every answer's body: whole (protocol, admin) or streamed (the journal stream).
pub(super) type Body = BoxBody<Bytes, Infallible>;

pub(super) const JSON: &str = "application/json;charset=UTF-8";
pub(super) const TEXT: &str = "text/plain;charset=UTF-8";

/// A whole answer with this status and content type.
pub(super) fn response(status: u16, content_type: &'static str, body: Vec<u8>) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from(body)).boxed());
    *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::OK);
    response.headers_mut().insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static(content_type));
    response
}
