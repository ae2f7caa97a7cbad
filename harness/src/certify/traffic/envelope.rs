//! The envelope of a request as the client sent it: the system headers, the URL query parameters, the sealed body.

use base64::Engine as _;
use nppa_protocol::envelope::{DataBody, IV_LEN};

/// The system parameters sent as headers (R-HDR-1), as found: names matched case-insensitively (the first of
/// each name), values as sent, not checked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SystemHeaders<'a> {
    pub app_id: Option<&'a str>,
    pub biz_id: Option<&'a str>,
    pub timestamps: Option<&'a str>,
    pub sign: Option<&'a str>,
}

impl<'a> SystemHeaders<'a> {
    /// Finds the four in a request's headers.
    pub fn find(headers: &'a [(String, String)]) -> SystemHeaders<'a> {
        let value = |name: &str| headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str());
        SystemHeaders {
            app_id: value("appId"),
            biz_id: value("bizId"),
            timestamps: value("timestamps"),
            sign: value("sign"),
        }
    }
}

/// The URL query parameters, decoded, in the order sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryParams {
    pub pairs: Vec<(String, String)>,
}

impl QueryParams {
    /// Decodes a query string (`None`: no query).
    pub fn parse(query: Option<&str>) -> QueryParams {
        let pairs = query.map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect()).unwrap_or_default();
        QueryParams { pairs }
    }

    /// The first `ai`.
    pub fn ai(&self) -> Option<&str> {
        self.ais().next()
    }

    /// Every `ai` sent.
    pub fn ais(&self) -> impl Iterator<Item = &str> {
        self.pairs.iter().filter(|(k, _)| k == "ai").map(|(_, v)| v.as_str())
    }

    /// The names of the parameters other than `ai`.
    pub fn others(&self) -> impl Iterator<Item = &str> {
        self.pairs.iter().filter(|(k, _)| k != "ai").map(|(k, _)| k.as_str())
    }
}

/// A body of the shape `{"data":"…"}` (R-ENC-1), whether or not it decrypts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    /// `data` as sent.
    pub data: String,
    /// The AES-GCM iv it starts with, when `data` is base64 of at least that many bytes.
    pub iv: Option<[u8; IV_LEN]>,
}

impl Sealed {
    /// Reads a body; `None` when it is not an envelope.
    pub fn parse(body: &str) -> Option<Sealed> {
        let data = DataBody::parse(body.as_bytes())?.data;
        let raw = base64::engine::general_purpose::STANDARD.decode(&data).ok();
        let iv = raw.and_then(|raw| raw.get(..IV_LEN)?.try_into().ok());
        Some(Sealed { data, iv })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_headers_are_found_whatever_their_case() {
        let headers: Vec<(String, String)> = [("APPID", "a"), ("bizid", "b"), ("Timestamps", "1"), ("sign", "s")]
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .into();
        let found = SystemHeaders::find(&headers);
        assert_eq!(
            found,
            SystemHeaders { app_id: Some("a"), biz_id: Some("b"), timestamps: Some("1"), sign: Some("s") }
        );
        assert_eq!(SystemHeaders::find(&[]), SystemHeaders::default());
    }

    #[test]
    fn query_parameters_are_decoded_in_order() {
        let query = QueryParams::parse(Some("debug=1&ai=a%20b&ai=c"));
        assert_eq!(query.ai(), Some("a b"));
        assert_eq!(query.ais().collect::<Vec<_>>(), ["a b", "c"]);
        assert_eq!(query.others().collect::<Vec<_>>(), ["debug"]);
        assert_eq!(QueryParams::parse(None).ai(), None);
    }

    #[test]
    fn a_sealed_body_gives_its_iv() {
        let sealed = Sealed::parse(r#"{"data":"AAECAwQFBgcICQoLDA=="}"#);
        assert_eq!(sealed.and_then(|s| s.iv), Some([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]));
        assert_eq!(Sealed::parse(r#"{"data":"AAE="}"#).map(|s| s.iv), Some(None));
        assert_eq!(Sealed::parse("[\"x\"]"), None);
    }
}
