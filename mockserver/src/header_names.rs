//! The system parameters' header names (SPEC §2: `appId`, `bizId`, `timestamps`, `sign`), as hyper keeps them
//! (lower case). Looked up by a `HeaderName`, a header costs a hash; by a `&str`, its name is parsed again first, on
//! every request.

use hyper::header::HeaderName;

pub const APP_ID: HeaderName = HeaderName::from_static("appid");
pub const BIZ_ID: HeaderName = HeaderName::from_static("bizid");
pub const TIMESTAMPS: HeaderName = HeaderName::from_static("timestamps");
pub const SIGN: HeaderName = HeaderName::from_static("sign");
