//! Sending a signed request through goose at the least cost per request: each interface's URL parsed once, the
//! header names made once, the body handed over without a copy, and a client that does only what NPPA needs (no
//! redirects, no compression, no proxy lookup, the 5 s timeout of SPEC §1). goose still times and counts each
//! request (`GooseUser::request`), so its own report (`--goose-report`) stays whole.

use std::time::{Duration, Instant};

use bytes::Bytes;
use goose::goose::{GooseRequest, GooseUser};
use nppa_protocol::interface::CLIENT_TIMEOUT_MS;
use nppa_protocol::request::{SignedRequest, CONTENT_TYPE};
use nppa_protocol::Interface;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, Url};

use crate::answer::{self, Answer};

/// The URLs and header names of one target, made once for the whole run.
#[derive(Debug)]
pub struct Sender {
    /// Each interface's production URL, by `Interface::index` (query without its `?ai=`).
    urls: [Url; 3],
    /// The lower-case names of the headers a signed request carries, in `SignedRequest::headers` order.
    names: Vec<(&'static str, HeaderName)>,
    /// The client every goose user sends with.
    client: reqwest::Client,
}

impl Sender {
    pub fn new(base_url: &str) -> anyhow::Result<Sender> {
        let base = Url::parse(base_url).map_err(|e| anyhow::anyhow!("{base_url}: {e}"))?;
        let url = |interface: Interface| {
            base.join(interface.production_path()).map_err(|e| anyhow::anyhow!("{base_url}: {e}"))
        };
        let [check, query, loginout] = Interface::ALL.map(url);
        let urls = [check?, query?, loginout?];
        let names = ["appId", "bizId", "timestamps", "sign", "content-type"]
            .into_iter()
            .map(|name| Ok((name, HeaderName::from_bytes(name.as_bytes())?)))
            .collect::<Result<_, reqwest::header::InvalidHeaderName>>()?;
        let mut client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_gzip()
            .no_proxy()
            .timeout(Duration::from_millis(CLIENT_TIMEOUT_MS))
            .user_agent(concat!("nppa-load/", env!("CARGO_PKG_VERSION")));
        if base.scheme() == "http" {
            // A plain-http target never opens TLS: no system trust store to read (19 000 000 instructions).
            client = client.tls_certs_only([]);
        }
        let client = client.build()?;
        Ok(Sender { urls, names, client })
    }

    /// The client every goose user sends with (given to each user when it starts): one connection pool for the run.
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    fn url(&self, signed: &SignedRequest) -> Url {
        let mut url = self.urls[signed.interface.index()].clone();
        if let Some((_, query)) = signed.path_and_query.split_once('?') {
            url.set_query(Some(query));
        }
        url
    }

    /// The request's headers, their values taken from `signed` (not copied).
    fn headers(&self, signed: &mut SignedRequest) -> HeaderMap {
        // Room for the headers reqwest and hyper add (user-agent, accept, host, content-length): a map that grows
        // rehashes every entry.
        let mut headers = HeaderMap::with_capacity(signed.headers.len() + 4);
        for (name, value) in &mut signed.headers {
            let value = if value == CONTENT_TYPE {
                HeaderValue::from_static(CONTENT_TYPE)
            } else {
                let Ok(value) = HeaderValue::try_from(std::mem::take(value)) else { continue };
                value
            };
            match self.names.iter().find(|(known, _)| known.eq_ignore_ascii_case(name)) {
                Some((_, header)) => headers.insert(header.clone(), value),
                None => HeaderName::from_bytes(name.as_bytes()).ok().and_then(|header| headers.insert(header, value)),
            };
        }
        headers
    }

    /// Sends `signed` (its body and header values are taken, not copied); the answer and the service time in µs.
    pub async fn send(&self, user: &mut GooseUser, signed: &mut SignedRequest) -> (Answer, u64) {
        let method = if signed.method == "GET" { Method::GET } else { Method::POST };
        let started = Instant::now();
        // The request is assembled whole, so that reqwest's builder has no header map to merge into its own.
        let mut request = reqwest::Request::new(method, self.url(signed));
        *request.headers_mut() = self.headers(signed);
        if !signed.body.is_empty() {
            *request.body_mut() = Some(Bytes::from(std::mem::take(&mut signed.body)).into());
        }
        let builder = reqwest::RequestBuilder::from_parts(user.client.clone(), request);
        let request = GooseRequest::builder().set_request_builder(builder).name(signed.interface.name()).build();
        let answer = match user.request(request).await {
            Ok(goose) => answer::read(goose.response).await,
            Err(_) => Answer::transport(),
        };
        (answer, started.elapsed().as_micros() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_headers_are_those_of_the_signed_request() {
        let sender = Sender::new("http://127.0.0.1:8080").unwrap();
        let credentials = nppa_protocol::request::Credentials {
            app_id: "fdc6688637bc468e9aea874654cbead2".into(),
            biz_id: "1101999999".into(),
            key: nppa_protocol::SecretKey::from_hex("b4c932250dbe59ff53b15ee993a9feb5").unwrap(),
        };
        let target = nppa_protocol::request::Target::Production;
        let query = nppa_protocol::request::query(&credentials, &target, "a b+c", 1_705_975_247_808);
        assert_eq!(sender.url(&query).as_str(), format!("http://127.0.0.1:8080{}", query.path_and_query));
        let headers = sender.headers(&mut query.clone());
        for (name, value) in &query.headers {
            assert_eq!(headers.get(*name).and_then(|v| v.to_str().ok()), Some(value.as_str()), "{name}");
        }
        assert_eq!(headers.len(), query.headers.len());
    }
}
