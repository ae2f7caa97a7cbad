//! The system parameters' header names (SPEC §2: `appId`, `bizId`, `timestamps`, `sign`), as hyper keeps them
//! (lower case). Looked up by a `HeaderName`, a header costs a hash; by a `&str`, its name is parsed again first, on
//! every request.

use hyper::header::HeaderName;
use nppa_protocol::system_headers::lowercase;

pub const APP_ID: HeaderName = HeaderName::from_static(lowercase::APP_ID);
pub const BIZ_ID: HeaderName = HeaderName::from_static(lowercase::BIZ_ID);
pub const TIMESTAMPS: HeaderName = HeaderName::from_static(lowercase::TIMESTAMPS);
pub const SIGN: HeaderName = HeaderName::from_static(lowercase::SIGN);
