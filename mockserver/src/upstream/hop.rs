//! Headers that belong to one connection rather than to the request or answer (RFC 9110 §7.6.1): a forwarder
//! drops them, with those the `Connection` header names, and passes every other header on as it came.

use hyper::header::{HeaderMap, HeaderName, CONNECTION};

/// Hop-by-hop in every HTTP/1.1 message; `proxy-connection` is the old non-standard one clients still send.
const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// The end-to-end headers of `headers`, in their order.
pub(super) fn end_to_end(headers: &HeaderMap) -> impl Iterator<Item = (&HeaderName, &hyper::header::HeaderValue)> {
    let named: Vec<String> = headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|name| name.trim().to_ascii_lowercase())
        .collect();
    headers.iter().filter(move |(name, _)| {
        let name_str = name.as_str();
        !HOP_BY_HOP.contains(&name_str) && !named.iter().any(|n| n == name_str)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    #[test]
    fn connection_headers_and_the_ones_it_names_stay_behind_and_the_rest_go_in_order() {
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("host", "127.0.0.1:8080"),
            ("appid", "a"),
            ("connection", "keep-alive, x-trace"),
            ("x-trace", "1"),
            ("transfer-encoding", "chunked"),
            ("sign", "s"),
            ("appid", "twice"),
        ] {
            headers.append(HeaderName::from_static(name), HeaderValue::from_static(value));
        }
        let kept: Vec<(&str, &str)> =
            end_to_end(&headers).map(|(n, v)| (n.as_str(), v.to_str().unwrap_or_default())).collect();
        assert_eq!(kept, vec![("host", "127.0.0.1:8080"), ("appid", "a"), ("appid", "twice"), ("sign", "s")]);
    }
}
