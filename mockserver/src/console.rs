//! The live web console at `/__admin/console`: plain HTML, CSS and JS embedded in the binary (no CDN, no build
//! step), and `codes.json`, the errcodes and errmsgs the page labels answers with, from `StatusCode::ALL` so that
//! the page never spells them, and `faults.json`, the fault actions its form offers. `admin::handle` serves it behind the same admission as every admin route.

use nppa_protocol::StatusCode;

use crate::admin_api::{CodeLabel, ConsoleCodes};

/// Where the console lives; its files are below it.
pub const PATH: &str = "/__admin/console";

/// Scripts, styles and connections from this origin only: nothing inline, nothing from elsewhere, no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// One embedded file and its content type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Asset {
    pub content_type: &'static str,
    pub body: &'static [u8],
}

/// What the console serves below [`PATH`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsoleFile {
    Asset(Asset),
    Codes,
    /// `faults.json`: the fault rules' actions and their fields ([`crate::faults::describe`]).
    FaultForm,
}

const JS: &str = "text/javascript; charset=utf-8";

/// The file at `rest`, the path after [`PATH`] ("" is the page itself).
pub fn file(rest: &str) -> Option<ConsoleFile> {
    let asset = |content_type, body| Some(ConsoleFile::Asset(Asset { content_type, body }));
    match rest {
        "" | "/index.html" => asset("text/html; charset=utf-8", include_bytes!("../console/index.html")),
        "/core.js" => asset(JS, include_bytes!("../console/core.js")),
        "/exchanges.js" => asset(JS, include_bytes!("../console/exchanges.js")),
        "/clock.js" => asset(JS, include_bytes!("../console/clock.js")),
        "/testsystem.js" => asset(JS, include_bytes!("../console/testsystem.js")),
        "/quotas.js" => asset(JS, include_bytes!("../console/quotas.js")),
        "/records.js" => asset(JS, include_bytes!("../console/records.js")),
        "/throughput.js" => asset(JS, include_bytes!("../console/throughput.js")),
        "/console.js" => asset(JS, include_bytes!("../console/console.js")),
        "/console.css" => asset("text/css; charset=utf-8", include_bytes!("../console/console.css")),
        "/favicon.svg" => asset("image/svg+xml", include_bytes!("../console/favicon.svg")),
        "/codes.json" => Some(ConsoleFile::Codes),
        "/faults.json" => Some(ConsoleFile::FaultForm),
        _ => None,
    }
}

/// Every errcode with its errmsg, as the protocol spells it, and the spec's Chinese description.
pub fn codes() -> ConsoleCodes {
    let codes = StatusCode::ALL
        .iter()
        .map(|c| CodeLabel {
            code: c.code(),
            errmsg: c.errmsg().to_owned(),
            description_zh: c.description_zh().map(str::to_owned),
        })
        .collect();
    ConsoleCodes { codes }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_its_files_and_codes_are_served_and_nothing_else() {
        for rest in [
            "",
            "/index.html",
            "/console.js",
            "/core.js",
            "/clock.js",
            "/records.js",
            "/console.css",
            "/codes.json",
            "/faults.json",
        ] {
            assert!(file(rest).is_some(), "{rest:?}");
        }
        assert_eq!(file("/../admin.rs"), None);
        assert_eq!(file("/secret"), None);
        let codes = codes();
        assert_eq!(codes.codes.len(), StatusCode::ALL.len());
        assert!(codes.codes.iter().any(|c| c.code == 2005 && c.errmsg == "BUS AUTH NAME ILLEGA"));
        let partner_auth = codes.codes.iter().find(|c| c.code == 1011).map(|c| c.description_zh.as_deref());
        assert_eq!(partner_auth, Some(Some("接口请求方身份核验错误")));
    }
}
