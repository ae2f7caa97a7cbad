//! The web console (`/__admin/console`) in a real headless Chromium driven through chromedriver (WebDriver), against
//! the real mock on a loopback port: what a vendor sees while their client runs. Needs Debian's `chromium` and
//! `chromium-driver` (`.ci/run` installs them); without chromedriver these tests fail and say so.
//!
//! `NPPA_CONSOLE_SCREENSHOTS=docs/console cargo test -p nppa-harness --test console` also writes the README's
//! screenshots (the path is relative to the workspace).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use common::crafted::{check_request, resign};
use common::{guest, Mock, OTHER_KEY, PRESET_OK};
use thirtyfour::components::SelectElement;
use thirtyfour::prelude::*;

/// How long the browser may take to show something (a bound on the wait, not a speed the test asserts).
const BOUND: Duration = Duration::from_secs(15);

/// chromedriver (`$CHROMEDRIVER`, or on the PATH) and a headless Chromium session through it; both end on drop.
struct Browser {
    driver: WebDriver,
    _chromedriver: tokio::process::Child,
}

fn chromedriver() -> PathBuf {
    let found = match std::env::var_os("CHROMEDRIVER") {
        Some(path) => Some(PathBuf::from(path)).filter(|p| p.is_file()),
        None => std::env::var_os("PATH")
            .and_then(|path| std::env::split_paths(&path).map(|dir| dir.join("chromedriver")).find(|p| p.is_file())),
    };
    found.unwrap_or_else(|| {
        panic!(
            "chromedriver not found on the PATH (or $CHROMEDRIVER is not a file): the console's browser tests need it. \
             Install Debian's chromium-driver (apt-get install -y chromium chromium-driver) or set CHROMEDRIVER"
        )
    })
}

async fn browser() -> Browser {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let chromedriver = tokio::process::Command::new(chromedriver())
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start chromedriver");
    let url = format!("http://127.0.0.1:{port}");
    // Wait (bounded) until chromedriver answers: it is another process starting, not the mock's time.
    let http = reqwest::Client::new();
    let deadline = tokio::time::Instant::now() + BOUND;
    while !http.get(format!("{url}/status")).send().await.is_ok_and(|r| r.status().is_success()) {
        assert!(tokio::time::Instant::now() < deadline, "chromedriver did not answer on {url} within {BOUND:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut caps = DesiredCapabilities::chrome();
    for arg in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,800"]
    {
        caps.add_arg(arg).unwrap();
    }
    if std::path::Path::new("/usr/bin/chromium").is_file() {
        caps.set_binary("/usr/bin/chromium").unwrap();
    }
    let driver = WebDriver::new(url, caps).await.expect("a Chromium session through chromedriver");
    Browser { driver, _chromedriver: chromedriver }
}

impl Browser {
    /// Opens the console and waits until it follows the journal stream.
    async fn open_console(&self, mock: &Mock) {
        self.driver.goto(format!("{}/__admin/console", mock.base)).await.unwrap();
        self.driver
            .query(By::Css("#stream-state[data-state='live']"))
            .wait(BOUND, Duration::from_millis(20))
            .first()
            .await
            .expect("the console follows the journal stream");
    }

    /// The first element matching `css` whose text contains every one of `needles`, waiting for it (bounded).
    async fn showing(&self, css: &str, needles: &[&str]) -> WebElement {
        let deadline = tokio::time::Instant::now() + BOUND;
        let mut seen = Vec::new();
        loop {
            seen.clear();
            for element in self.driver.find_all(By::Css(css)).await.unwrap() {
                let text = element.text().await.unwrap_or_default();
                if needles.iter().all(|n| text.contains(n)) {
                    return element;
                }
                seen.push(text);
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no {css} showing {needles:?} within {BOUND:?}; the page showed {seen:#?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// With `NPPA_CONSOLE_SCREENSHOTS=DIR`, the page as a PNG in DIR (relative to the workspace).
    async fn screenshot(&self, name: &str) {
        let Some(dir) = std::env::var_os("NPPA_CONSOLE_SCREENSHOTS") else { return };
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join(dir);
        std::fs::create_dir_all(&dir).unwrap();
        self.driver.screenshot(&dir.join(name)).await.unwrap();
    }

    async fn quit(self) {
        self.driver.quit().await.unwrap();
    }
}

#[tokio::test]
async fn a_signed_check_appears_live_and_opens_to_its_decrypted_plaintext() {
    let mock = common::start().await;
    let browser = browser().await;
    browser.open_console(&mock).await;

    let (ai, name, id_num) = PRESET_OK;
    let client = mock.client();
    assert_eq!(common::code(&client.check(ai, name, id_num).await.unwrap()), 0);
    let row =
        browser.showing("#exchanges tbody tr", &["check", "/idcard/authentication/check", "0 OK", "1101999999"]).await;
    // More traffic for the screenshot: a query, a loginout, and a request whose sign is wrong.
    client.query(ai).await.unwrap();
    let now = mock.now_ms().await;
    client.loginout(vec![guest(1, "session-1", 1, now)]).await.unwrap();
    let mut wrong = check_request(now);
    resign(&mut wrong, OTHER_KEY);
    client.send(wrong).await.unwrap();
    browser.showing("#exchanges tbody tr", &["1011 SYS REQ PARTNER AUTH ERROR"]).await;
    browser.screenshot("exchanges.png").await;

    row.click().await.unwrap();
    let plaintext = browser.showing("#detail [data-part='plaintext']", &[name, id_num, ai]).await;
    assert!(plaintext.text().await.unwrap().contains("\"idNum\": \"110000190101010001\""), "pretty-printed");
    browser.showing("#detail [data-part='answer']", &["\"errcode\": 0", "\"status\": 0"]).await;
    browser.showing("#detail [data-part='body']", &["{\"data\":\""]).await;
    browser.showing("#detail [data-part='headers']", &["appid", "fdc6688637bc468e9aea874654cbead2", "sign"]).await;
    assert!(browser.driver.find_all(By::Css("#detail [data-part='refusal']")).await.unwrap().is_empty());
    browser.screenshot("exchange-opened.png").await;
    browser.quit().await;
}

#[tokio::test]
async fn the_console_opens_with_earlier_exchanges_and_a_wrong_sign_shows_its_rule_and_cause() {
    let mock = common::start().await;
    let (ai, name, id_num) = PRESET_OK;
    // Sent before the console opens: the journal's recent entries fill the table first.
    assert_eq!(common::code(&mock.client().check(ai, name, id_num).await.unwrap()), 0);
    let browser = browser().await;
    browser.open_console(&mock).await;
    browser.showing("#exchanges tbody tr", &["/idcard/authentication/check", "0 OK"]).await;

    let mut wrong = check_request(mock.now_ms().await);
    resign(&mut wrong, OTHER_KEY);
    assert_eq!(common::code(&mock.client().send(wrong).await.unwrap()), 1011);
    let row = browser.showing("#exchanges tbody tr", &["1011 SYS REQ PARTNER AUTH ERROR"]).await;
    // Keyboard: focus the row and press Enter.
    row.focus().await.unwrap();
    row.send_keys(Key::Enter).await.unwrap();
    browser.showing("#detail [data-part='rule']", &["R-SIG-3"]).await;
    browser.showing("#detail [data-part='cause']", &["sign mismatch"]).await;
    // Beside the errmsg, the V2.1 spec's own Chinese description of the code, in either language.
    browser
        .showing("#detail [data-part='errcode']", &["1011 SYS REQ PARTNER AUTH ERROR", "接口请求方身份核验错误"])
        .await;
    browser.showing("#exchanges tbody tr", &["0 OK", "请求成功"]).await;

    // The text filter reads the descriptions too.
    browser.fill("#filter-text", "身份核验").await;
    browser.showing("#count", &["1 ", "/ 2"]).await;
    browser.fill("#filter-text", "").await;
    // The errcode filter keeps only the refused row.
    let filter = browser.driver.find(By::Css("#filter-errcode")).await.unwrap();
    SelectElement::new(&filter).await.unwrap().select_by_value("1011").await.unwrap();
    browser.showing("#count", &["1 ", "/ 2"]).await;
    // The page asked the mock for nothing but the admin API (no /favicon.ico among the exchanges).
    let paths: Vec<String> = common::entries(&mock).into_iter().map(|e| e.path).collect();
    assert_eq!(paths, ["/idcard/authentication/check"; 2], "the journal holds the client's requests only");

    // Chinese labels; errmsg stays as the protocol spells it.
    browser.driver.find(By::Css("#language")).await.unwrap().click().await.unwrap();
    browser.showing("#exchanges thead", &["接口", "耗时"]).await;
    browser.showing("#detail", &["拒绝", "SYS REQ PARTNER AUTH ERROR"]).await;
    browser.quit().await;
}

#[tokio::test]
async fn the_console_is_refused_to_foreign_hosts_and_origins_as_the_admin_api_is() {
    let mock = common::start().await;
    let http = reqwest::Client::new();
    let get = |path: &str, headers: &[(&'static str, &'static str)]| {
        let mut request = http.get(format!("{}{path}", mock.base));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send()
    };
    let foreign: [&[(&str, &str)]; 3] = [
        &[("host", "rebind.evil.example")],
        &[("origin", "https://evil.example")],
        &[("sec-fetch-site", "cross-site")],
    ];
    for headers in foreign {
        let api = get("/__admin/journal", headers).await.unwrap();
        let (api_status, api_body) = (api.status(), api.text().await.unwrap());
        for path in ["/__admin/console", "/__admin/console/console.js", "/__admin/console/codes.json"] {
            let page = get(path, headers).await.unwrap();
            assert_eq!(page.status(), api_status, "{path} with {headers:?}");
            assert_eq!(api_status, 403, "{headers:?}");
            assert_eq!(page.text().await.unwrap(), api_body, "{path} with {headers:?}: the admin API's own refusal");
        }
    }

    let page = get("/__admin/console", &[]).await.unwrap();
    assert_eq!(page.status(), 200);
    let header = |name: &str| page.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    assert_eq!(header("content-type"), "text/html; charset=utf-8");
    assert!(header("content-security-policy").contains("script-src 'self'"), "{}", header("content-security-policy"));
    assert!(!header("content-security-policy").contains("unsafe"), "no inline scripts or eval");
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert!(page.text().await.unwrap().contains("/__admin/console/console.js"));
    let script = get("/__admin/console/console.js", &[]).await.unwrap();
    assert_eq!(script.headers()["content-type"], "text/javascript; charset=utf-8");

    let codes: nppa_mockserver::admin_api::ConsoleCodes =
        get("/__admin/console/codes.json", &[]).await.unwrap().json().await.unwrap();
    let partner_auth = codes.codes.iter().find(|c| c.code == 1011).expect("1011 listed");
    assert_eq!(partner_auth.errmsg, nppa_protocol::StatusCode::PartnerAuthError.errmsg());
    assert_eq!(partner_auth.description_zh.as_deref(), Some("接口请求方身份核验错误"), "the spec's words");
    assert_eq!(codes.codes.len(), nppa_protocol::StatusCode::ALL.len());
}

#[tokio::test]
async fn with_an_admin_token_the_console_is_refused_a_wrong_one_and_shows_why() {
    let mock = common::start_with(|config| config.server.admin_token = Some("s3cret".into())).await;
    let browser = browser().await;
    browser.driver.goto(format!("{}/__admin/console#token=wrong", mock.base)).await.unwrap();
    browser.showing("#problem", &["401", "does not match server.admin_token"]).await;
    // The right token, given once in the fragment, is kept for the tab and sent with every call.
    browser.driver.goto(format!("{}/__admin/console#token=s3cret", mock.base)).await.unwrap();
    browser.driver.refresh().await.unwrap();
    browser
        .driver
        .query(By::Css("#stream-state[data-state='live']"))
        .wait(BOUND, Duration::from_millis(20))
        .first()
        .await
        .expect("with the right token the console follows the stream");
    assert!(!browser.driver.current_url().await.unwrap().as_str().contains("s3cret"), "the token leaves the URL");
    browser.quit().await;
}

impl Browser {
    /// Shows the view whose navigation button is `view`.
    async fn view(&self, view: &str) {
        self.driver.find(By::Css(format!("#views button[data-view='{view}']"))).await.unwrap().click().await.unwrap();
    }

    async fn fill(&self, css: &str, value: &str) {
        let input = self.driver.find(By::Css(css)).await.unwrap();
        input.clear().await.unwrap();
        input.send_keys(value).await.unwrap();
    }

    async fn select(&self, css: &str, value: &str) {
        let select = self.driver.find(By::Css(css)).await.unwrap();
        SelectElement::new(&select).await.unwrap().select_by_value(value).await.unwrap();
    }

    async fn click(&self, css: &str) {
        self.driver.find(By::Css(css)).await.unwrap().click().await.unwrap();
    }
}

/// Sets the `sign` header of a request to `sign`.
fn sign_with(request: &mut nppa_protocol::request::SignedRequest, sign: String) {
    common::crafted::set_header(request, "sign", &sign);
}

#[tokio::test]
async fn a_wrongly_signed_request_opens_to_the_expected_sign_string_and_the_probable_mistake() {
    use nppa_protocol::sign;
    let mock = common::start().await;
    mock.freeze().await;
    let browser = browser().await;
    browser.open_console(&mock).await;
    let now = mock.now_ms().await;
    let key = nppa_harness::DEFAULT_SECRET_KEY;
    let ts = now.to_string();
    let params =
        [("appId", nppa_harness::DEFAULT_APP_ID), ("bizId", nppa_harness::DEFAULT_BIZ_ID), ("timestamps", &ts)];

    // The sign string begun with the key's 16 decoded bytes instead of its 32 hex characters.
    let mut key_bytes = check_request(now);
    let mut text = hex::decode(key).unwrap();
    text.extend_from_slice(&sign::sign_string("", &params, &key_bytes.body));
    sign_with(&mut key_bytes, hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&text)));
    assert_eq!(common::code(&mock.client().send(key_bytes).await.unwrap()), 1011);
    // The plaintext signed, then sealed.
    let mut before_sealing = check_request(now);
    let plaintext = before_sealing.plaintext.clone().unwrap();
    sign_with(&mut before_sealing, sign::sign(key, &params, plaintext.as_bytes()));
    assert_eq!(common::code(&mock.client().send(before_sealing).await.unwrap()), 1011);

    browser.showing("#exchanges tbody tr:nth-child(2)", &["1011"]).await;
    let rows = browser.driver.find_all(By::Css("#exchanges tbody tr")).await.unwrap();
    assert_eq!(rows.len(), 2);
    // Newest first: the second request is the first row.
    rows[1].click().await.unwrap();
    browser.showing("#detail [data-part='sign-mistake']", &["the key's 16 decoded bytes"]).await;
    // The key stays out of the page: the strings show where it goes.
    browser.showing("#detail [data-part='expected-sign-string']", &["{secretKey}appId", "bizId1101999999"]).await;
    browser.showing("#detail [data-part='client-sign-string']", &["{secretKey as 16 bytes}appId"]).await;
    assert!(!browser.driver.source().await.unwrap().contains(key), "the secretKey is not on the page");

    rows[0].click().await.unwrap();
    browser.showing("#detail [data-part='sign-mistake']", &["plaintext was signed before it was sealed"]).await;
    browser.showing("#detail [data-part='client-sign-string']", &["{secretKey}appId", "\"idNum\""]).await;
    browser.screenshot("sign-diagnosis.png").await;

    // The same diagnosis in Chinese labels; a correct exchange has no diagnosis.
    browser.click("#language").await;
    browser.showing("#detail", &["签名诊断", "plaintext was signed before it was sealed"]).await;
    let (ai, name, id_num) = PRESET_OK;
    assert_eq!(common::code(&mock.client().check(ai, name, id_num).await.unwrap()), 0);
    browser.showing("#exchanges tbody tr", &["0 OK"]).await.click().await.unwrap();
    browser.showing("#detail [data-part='answer']", &["\"errcode\": 0"]).await;
    assert!(browser.driver.find_all(By::Css("#detail [data-part='sign-diagnosis']")).await.unwrap().is_empty());
    browser.quit().await;
}

#[tokio::test]
async fn advancing_the_clock_in_the_console_resolves_a_pending_check() {
    let mock = common::start().await;
    mock.freeze().await;
    let client = mock.client();
    let (ai, name, id_num) = common::PRESET_PENDING;
    assert_eq!(client.check(ai, name, id_num).await.unwrap().status(), Some(1), "the check pends (30 s)");
    assert_eq!(client.query(ai).await.unwrap().status(), Some(1));
    let before = mock.now_ms().await;

    let browser = browser().await;
    browser.open_console(&mock).await;
    browser.view("clock").await;
    browser.showing("#clock-state", &["frozen"]).await;
    browser.showing("#clock-now", &[&beijing(before)]).await;
    browser.fill("#clock-advance-amount", "1").await;
    browser.select("#clock-advance-unit", "60000").await;
    browser.click("#clock-advance").await;
    browser.showing("#clock-now", &[&beijing(before + 60_000)]).await;
    assert_eq!(mock.now_ms().await, before + 60_000, "the mock clock moved by the minute asked");
    let resolved = client.query(ai).await.unwrap();
    assert_eq!(resolved.status(), Some(0), "resolved once the clock passed the 30 s delay");
    assert!(resolved.pi().is_some());

    // Unfreeze and freeze again from the console.
    browser.click("#clock-freeze").await;
    browser.showing("#clock-state", &["running"]).await;
    assert!(!mock.admin_api().clock().await.unwrap().frozen);
    browser.click("#clock-freeze").await;
    browser.showing("#clock-state", &["frozen"]).await;
    assert!(mock.admin_api().clock().await.unwrap().frozen);
    // Set the clock to a Beijing time.
    browser.fill("#clock-set-value", "2026-01-15 12:00:00").await;
    browser.click("#clock-set").await;
    browser.showing("#clock-now", &["2026-01-15 12:00:00"]).await;
    assert_eq!(mock.now_ms().await, common::NOON_BEIJING_MS);

    // Reset drops the records and the journal; the Exchanges table empties with it.
    assert_eq!(mock.live_records().await, 1);
    browser.click("#reset").await;
    browser.showing("#reset-done", &["Reset"]).await;
    assert_eq!(mock.live_records().await, 0);
    browser.view("exchanges").await;
    browser.showing("#count", &["0 ", "/ 0"]).await;
    browser.quit().await;
}

/// `ms` as the console prints it to the second (Beijing time).
fn beijing(ms: u64) -> String {
    let time = chrono::DateTime::from_timestamp_millis(ms as i64 + 8 * 3_600_000).unwrap();
    time.format("%Y-%m-%d %H:%M:%S").to_string()
}

#[tokio::test]
async fn a_fault_added_from_the_form_fails_the_next_request_and_removing_it_ends_that() {
    let mock = common::start().await;
    let browser = browser().await;
    browser.open_console(&mock).await;
    browser.view("clock").await;
    browser.showing("#no-faults", &["No fault rules"]).await;
    // Every action kind the mock describes is offered.
    let offered = browser.driver.find_all(By::Css("#fault-kind option")).await.unwrap();
    let mut kinds = Vec::new();
    for option in offered {
        kinds.push(option.value().await.unwrap().unwrap_or_default());
    }
    assert_eq!(kinds, ["", "status", "http_status", "reset", "truncate", "corrupt", "loginout_data", "vary"]);

    browser.select("#fault-kind", "status").await;
    browser.select("#fault-errcode", "2007").await;
    browser.select("#fault-interface", "check").await;
    browser.click("#fault-add").await;
    browser.showing("#faults tbody tr", &["status 2007", "interface=check"]).await;
    let (ai, name, id_num) = PRESET_OK;
    let client = mock.client();
    assert_eq!(common::code(&client.check(ai, name, id_num).await.unwrap()), 2007, "the fault answers");
    // The rule's hits follow the journal.
    browser.showing("#faults tbody tr td.num", &["1"]).await;
    browser.screenshot("clock-faults.png").await;

    browser.click("#faults tbody tr button[data-remove]").await;
    browser.showing("#no-faults", &["No fault rules"]).await;
    assert!(mock.admin_api().faults().await.unwrap().rules.is_empty());
    assert_eq!(common::code(&client.check(ai, name, id_num).await.unwrap()), 0, "no fault after removing it");

    // An HTTP status fault: its fields come from the description too.
    browser.select("#fault-kind", "http_status").await;
    browser.select("#fault-interface", "").await;
    browser.fill("#fault-status", "503").await;
    browser.click("#fault-add").await;
    browser.showing("#faults tbody tr", &["http_status 503"]).await;
    let answered = reqwest::get(format!("{}/idcard/authentication/query?ai=x", mock.base)).await.unwrap();
    assert_eq!(answered.status(), 503);

    // A vary action takes several changes: a list.
    browser.click("#faults-clear").await;
    browser.showing("#no-faults", &["No fault rules"]).await;
    browser.select("#fault-kind", "vary").await;
    browser.select("#fault-changes", "keys_reversed").await;
    browser.select("#fault-changes", "chunked").await;
    browser.click("#fault-add").await;
    browser.showing("#faults tbody tr", &["vary keys_reversed+chunked"]).await;
    let rules = mock.admin_api().faults().await.unwrap().rules;
    let action = serde_json::to_value(rules[0].rule.action.as_ref().unwrap()).unwrap();
    assert_eq!(action, serde_json::json!({"kind": "vary", "changes": ["keys_reversed", "chunked"]}));
    browser.quit().await;
}

#[tokio::test]
async fn passing_the_eight_cases_fills_the_test_system_view_with_the_exchanges_that_passed_them() {
    let mock = common::start().await;
    let browser = browser().await;
    browser.open_console(&mock).await;
    browser.view("testsystem").await;
    browser.showing("#testsystem tr[data-case='testcase01']", &["testcase01", "not yet"]).await;

    nppa_harness::certify::reference::official_cases(&common::flow_env(&mock)).await.unwrap();
    browser.showing("#testsystem .summary", &["all 8 cases passed", "production unlocked"]).await;
    let rows = browser.driver.find_all(By::Css("#testsystem tr[data-case]")).await.unwrap();
    assert_eq!(rows.len(), 8);
    for row in &rows {
        assert_eq!(row.attr("data-passed").await.unwrap().as_deref(), Some("true"));
    }
    browser.screenshot("testsystem.png").await;

    // Each case names the exchange that passed it; opening one shows it in Exchanges.
    let state = mock.admin_api().test_system().await.unwrap();
    let case = &state.accounts[0].cases[6];
    let id = case.passed_by.expect("testcase07 names its exchange");
    let entry = common::entries(&mock).into_iter().find(|e| e.id == id).unwrap();
    assert_eq!(entry.path, case.path, "the exchange that passed testcase07 went to its path");
    assert_eq!(entry.errcode, Some(0));
    browser.click(&format!("#testsystem tr[data-case='testcase07'] button[data-exchange='{id}']")).await;
    browser.showing("#detail h2", &[&format!("#{id}"), &case.path]).await;

    // In Chinese.
    browser.click("#language").await;
    browser.view("testsystem").await;
    browser.showing("#views", &["测试系统", "配额", "时钟与故障"]).await;
    browser.showing("#testsystem tr[data-case='testcase08']", &["已通过"]).await;
    browser.showing("#testsystem .summary", &["8 个用例全部通过"]).await;
    browser.quit().await;
}

#[tokio::test]
async fn fifty_one_loginouts_in_one_second_show_the_quota_full_and_the_block_counting_down() {
    let mock = common::start().await;
    mock.freeze().await;
    let browser = browser().await;
    browser.open_console(&mock).await;
    browser.view("quotas").await;
    let row = "#quotas tr[data-app-id='fdc6688637bc468e9aea874654cbead2'][data-biz-id='1101999999'][data-interface='loginout']";
    browser.showing(&format!("{row}[data-full='false'][data-blocked='false']"), &["0", "50", "—"]).await;

    // The frozen clock keeps all 51 in one second: the 51st is refused and starts the 60 s block (R-RL-1/2).
    let client = mock.client();
    let now = mock.now_ms().await;
    for n in 0..50 {
        let answer = client.loginout(vec![guest(1, &format!("s{n}"), 1, now)]).await.unwrap();
        assert_eq!(common::code(&answer), 0, "loginout {n}");
    }
    assert_eq!(common::code(&client.loginout(vec![guest(1, "s50", 1, now)]).await.unwrap()), 1006);
    browser.showing(row, &["51 (full)", "blocked, 60 s left"]).await;
    let state = mock.admin_api().quotas().await.unwrap();
    let cell = state.cells.iter().find(|c| c.interface == nppa_protocol::Interface::Loginout).unwrap();
    assert_eq!((cell.count, cell.limit, cell.block_remaining_ms), (51, Some(50), Some(60_000)));
    browser.screenshot("quotas.png").await;

    // The countdown follows the mock clock.
    mock.advance(45_000).await;
    client.query(PRESET_OK.0).await.unwrap(); // an exchange: the view fetches again
    browser.showing(row, &["blocked, 15 s left"]).await;
    mock.advance(15_000).await;
    client.query(PRESET_OK.0).await.unwrap();
    browser.showing(&format!("{row}[data-blocked='false']"), &["—"]).await;
    browser.quit().await;
}

#[tokio::test]
async fn the_sign_diagnosis_endpoint_redacts_the_key_unless_asked_and_says_why_it_cannot_diagnose() {
    let mock = common::start().await;
    let key = nppa_harness::DEFAULT_SECRET_KEY;
    let (ai, name, id_num) = PRESET_OK;
    assert_eq!(common::code(&mock.client().check(ai, name, id_num).await.unwrap()), 0);
    let mut wrong = check_request(mock.now_ms().await);
    resign(&mut wrong, OTHER_KEY);
    assert_eq!(common::code(&mock.client().send(wrong).await.unwrap()), 1011);

    let admin = mock.admin_api();
    let redacted = admin.sign_diagnosis(2).await.unwrap();
    assert_eq!(redacted.secret_keys, nppa_mockserver::admin_api::SecretKeys::Redacted);
    assert!(redacted.expected_sign_string.starts_with("{secretKey}appIdfdc6688637bc468e9aea874654cbead2"));
    assert!(!redacted.expected_sign_string.contains(key));
    assert!(!redacted.identified, "another key's sign is no known mistake: {redacted:?}");
    assert_eq!(redacted.client_sign_string, None);
    let shown = admin.clone().revealing_keys().sign_diagnosis(2).await.unwrap();
    assert!(shown.expected_sign_string.starts_with(key));
    assert_eq!(shown.expected_sign, redacted.expected_sign);

    let (status, body) = mock.admin("GET", "/__admin/journal/1/sign", None).await;
    assert_eq!(status, 409, "a correctly signed entry: {body}");
    let (status, body) = mock.admin("GET", "/__admin/journal/99/sign", None).await;
    assert_eq!(status, 404, "{body}");
    let (status, _) = mock.admin("POST", "/__admin/journal/2/sign", None).await;
    assert_eq!(status, 405);
}

#[tokio::test]
async fn a_pending_check_shows_its_times_and_after_the_clock_and_a_query_its_deletion() {
    let mock = common::start().await;
    mock.freeze().await;
    let browser = browser().await;
    browser.open_console(&mock).await;
    let client = mock.client();
    let (ai, name, id_num) = common::PRESET_PENDING;
    let checked = mock.now_ms().await;
    assert_eq!(client.check(ai, name, id_num).await.unwrap().status(), Some(1), "the check pends (30 s)");

    // Reached from the check's exchange.
    browser.showing("#exchanges tbody tr", &["check", "0 OK"]).await.click().await.unwrap();
    browser.click(&format!("#detail button[data-record='{ai}']")).await;
    let record = "#record section.record[data-biz-id='1101999999']";
    browser.showing(&format!("{record}[data-status='1'] [data-part='status']"), &["1 pending"]).await;
    browser.showing(&format!("{record} tr[data-event='checked'][data-when='past']"), &[&beijing(checked)]).await;
    let resolves = beijing(checked + 30_000);
    browser
        .showing(&format!("{record} tr[data-event='resolves'][data-when='future']"), &[&resolves, "+30 s", "0 success"])
        .await;
    let expires = beijing(checked + 48 * 3_600_000);
    browser.showing(&format!("{record} tr[data-event='deleted']"), &["Expires", "48 h", &expires]).await;
    browser.showing("#record-counts tr[data-biz-id='1101999999'] [data-part='live']", &["1"]).await;

    // A minute later the first query answers the result and starts the 300 s (R-QRY-2).
    mock.advance(60_000).await;
    let queried = checked + 60_000;
    assert_eq!(client.query(ai).await.unwrap().status(), Some(0));
    browser.showing(&format!("{record}[data-status='0'] [data-part='status']"), &["0 success"]).await;
    browser
        .showing(&format!("{record} tr[data-event='first-final-query'][data-when='past']"), &[&beijing(queried)])
        .await;
    let deleted = beijing(queried + 300_000);
    browser
        .showing(
            &format!("{record} tr[data-event='deleted'][data-when='future']"),
            &["Deleted", "300 s", &deleted, "+300 s"],
        )
        .await;
    // The store no longer holds the check's time; the check's exchange does, and links to it.
    browser.showing(&format!("{record} tr[data-event='checked'] button[data-exchange]"), &["#1"]).await;
    browser.showing(&format!("{record} tr[data-event='checked']"), &[&beijing(checked)]).await;
    browser.screenshot("records.png").await;
    // Reading the record started nothing: the deletion is the query's, as the admin API says too.
    let answer = mock.admin_api().records(ai).await.unwrap();
    assert_eq!(answer.records.len(), 1);
    assert_eq!(answer.records[0].deleted_at_ms, queried + 300_000);

    // 300 s later the record is gone: the query answers 2003, and the view says so.
    mock.advance(300_000).await;
    assert_eq!(common::code(&client.query(ai).await.unwrap()), 2003);
    browser.showing("#record-none", &["2003"]).await;
    browser.showing("#record-counts tr[data-biz-id='1101999999'] [data-part='live']", &["0"]).await;

    // In Chinese.
    browser.click("#language").await;
    browser.showing("#views", &["实名记录"]).await;
    browser.showing("#record-none", &["没有有效记录"]).await;
    browser.quit().await;
}

#[tokio::test]
async fn the_records_endpoint_reads_without_starting_the_deletion_and_counts_per_game() {
    use nppa_mockserver::admin_api::RecordEnd;
    use nppa_protocol::messages::AuthStatus;
    let mock = common::start().await;
    mock.freeze().await;
    let admin = mock.admin_api();
    let (ai, name, id_num) = common::PRESET_PENDING;
    let checked = mock.now_ms().await;
    assert_eq!(mock.client().check(ai, name, id_num).await.unwrap().status(), Some(1));

    let pending = admin.records(ai).await.unwrap();
    assert_eq!(pending.ai, ai);
    let record = &pending.records[0];
    assert_eq!(
        (record.biz_id.as_str(), record.app_id.as_str()),
        (nppa_harness::DEFAULT_BIZ_ID, nppa_harness::DEFAULT_APP_ID)
    );
    assert_eq!((record.status, record.resolves_to), (AuthStatus::Pending, AuthStatus::Success));
    assert_eq!((record.checked_ms, record.resolves_at_ms), (Some(checked), checked + 30_000));
    assert_eq!((record.deleted_at_ms, record.deleted_by), (checked + 48 * 3_600_000, RecordEnd::PendingTtl));

    // Read after it resolved, many times: no deletion starts until a query asks.
    mock.advance(60_000).await;
    for _ in 0..3 {
        let read = admin.records(ai).await.unwrap();
        assert_eq!((read.records[0].status, read.records[0].deleted_by), (AuthStatus::Success, RecordEnd::PendingTtl));
    }
    mock.advance(1_000).await;
    assert_eq!(mock.client().query(ai).await.unwrap().status(), Some(0));
    let queried = admin.records(ai).await.unwrap().records[0].clone();
    assert_eq!((queried.first_final_query_ms, queried.checked_ms), (Some(checked + 61_000), None));
    assert_eq!((queried.deleted_at_ms, queried.deleted_by), (checked + 361_000, RecordEnd::FinalQuery));

    let counts = admin.record_counts().await.unwrap();
    assert_eq!(counts.cap, 10_000_000);
    assert_eq!(counts.games.iter().map(|g| (g.biz_id.as_str(), g.live)).collect::<Vec<_>>()[0], ("1101999999", 1));
    // An ai that needs percent-encoding in the path, and one never checked.
    assert!(admin.records("玩家/1 x").await.unwrap().records.is_empty());
    let (status, _) = mock.admin("POST", "/__admin/records", None).await;
    assert_eq!(status, 405);
    let (status, _) = mock.admin("GET", "/__admin/records/a/b", None).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn the_throughput_view_counts_the_requests_the_page_saw_with_their_latency_percentiles() {
    let mock = common::start().await;
    let client = mock.client();
    let (ai, name, id_num) = PRESET_OK;
    // Before the page opens: the Exchanges table shows it, the throughput (counted live) does not.
    assert_eq!(common::code(&client.check(ai, name, id_num).await.unwrap()), 0);
    let browser = browser().await;
    browser.open_console(&mock).await;
    browser.view("throughput").await;
    browser.showing("#throughput tr[data-interface='all'] [data-part='count']", &["0"]).await;

    for _ in 0..5 {
        assert_eq!(common::code(&client.check(ai, name, id_num).await.unwrap()), 0);
    }
    for _ in 0..2 {
        client.query("no-such-ai").await.unwrap();
    }
    let now = mock.now_ms().await;
    client.loginout(vec![guest(1, "session-1", 1, now)]).await.unwrap();

    let count = |interface: &str| format!("#throughput tr[data-interface='{interface}'] [data-part='count']");
    browser.showing(&count("all"), &["8"]).await;
    for (interface, n) in [("check", "5"), ("query", "2"), ("loginout", "1")] {
        // Waits for the text rather than reading an element the live table may re-render meanwhile (stale).
        browser.showing(&count(interface), &[n]).await;
    }
    // Percentiles of the journal's latencies, in ms, and no entry missed by the stream.
    let journal = common::entries(&mock);
    let mut latencies: Vec<u64> = journal.iter().skip(1).map(|e| e.latency_us).collect();
    latencies.sort_unstable();
    let p99 = format!("{:.1} ms", latencies[latencies.len() - 1] as f64 / 1000.0);
    browser.showing("#throughput tr[data-interface='all'] [data-part='p99']", &[&p99]).await;
    let p50 = format!("{:.1} ms", latencies[3] as f64 / 1000.0);
    browser.showing("#throughput tr[data-interface='all'] [data-part='p50']", &[&p50]).await;
    browser.showing("p[data-missed='0']", &["since this page opened"]).await;
    browser.showing("figure[data-chart='rpsChart']", &["Requests per second"]).await;
    browser.screenshot("throughput.png").await;

    browser.click("#language").await;
    browser.showing("#views", &["吞吐量"]).await;
    browser.showing("figure[data-chart='latencyChart']", &["每秒耗时"]).await;
    browser.quit().await;
}
