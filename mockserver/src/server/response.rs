//! What the transport sends: the body type and content types of its answers.

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Either, Full};
use hyper::Response;

/// Every answer's body: whole (protocol, admin), or streamed (the journal stream, a paced answer). Not one boxed
/// type: a box is an allocation, and nearly every answer is whole.
pub(super) type Body = Either<Full<Bytes>, BoxBody<Bytes, Infallible>>;

/// A whole body.
pub(super) fn whole(bytes: impl Into<Bytes>) -> Body {
    Either::Left(Full::new(bytes.into()))
}

/// A body sent as `body` yields it.
pub(super) fn streamed(body: impl hyper::body::Body<Data = Bytes, Error = Infallible> + Send + Sync + 'static) -> Body {
    Either::Right(body.boxed())
}

pub(super) const JSON: &str = "application/json;charset=UTF-8";
pub(super) const TEXT: &str = "text/plain;charset=UTF-8";

/// A whole answer with this status and content type.
pub(super) fn response(status: u16, content_type: &'static str, body: Vec<u8>) -> Response<Body> {
    let mut response = Response::new(whole(body));
    *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::OK);
    response.headers_mut().insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static(content_type));
    response
}

/// A console file: its content type, a policy that lets it load nothing from elsewhere, and no caching, so that a
/// new binary's console is the one seen.
pub(super) fn page(asset: crate::console::Asset) -> Response<Body> {
    use hyper::header::{
        HeaderValue, CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
    };
    let mut response = Response::new(whole(Bytes::from_static(asset.body)));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(crate::console::CONTENT_SECURITY_POLICY));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
