//! `nppa client check|query|loginout`: one correct request to the mock (or any NPPA endpoint), printed.

use std::io::{Read as _, Write as _};
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Subcommand, ValueEnum};
use nppa_protocol::messages::{bt, ct, BehaviourRecord};
use nppa_protocol::request::Target;

use nppa_mockserver::journal::JournalQuery;

use crate::client::{Client, Exchange, TimeSource};

/// Options shared by every client command.
#[derive(Debug, Args)]
pub struct ClientArgs {
    /// Base URL of the NPPA endpoint (the mock prints its own at start).
    #[arg(long, env = "NPPA_BASE_URL", default_value = "http://127.0.0.1:8080")]
    pub base_url: String,
    /// appId (接口调用唯一凭证). Default: the V2.1 spec's example, served by `nppa mock`.
    #[arg(long, env = "NPPA_APP_ID", default_value = crate::DEFAULT_APP_ID)]
    pub app_id: String,
    /// bizId (游戏备案识别码).
    #[arg(long, env = "NPPA_BIZ_ID", default_value = crate::DEFAULT_BIZ_ID)]
    pub biz_id: String,
    /// secretKey, 32 hex characters.
    #[arg(long, env = "NPPA_SECRET_KEY", default_value = crate::DEFAULT_SECRET_KEY, hide_env_values = true)]
    pub secret_key: String,
    /// Sign with the mock's clock (GET /__admin/clock) instead of this machine's; use it after moving the
    /// mock clock, or the mock answers 1007.
    #[arg(long)]
    pub mock_clock: bool,
    /// Call the official test system's path for this test code (`/test/…/{code}`) instead of production;
    /// use the test credentials with it (`nppa mock` prints both).
    #[arg(long, env = "NPPA_TEST_CODE")]
    pub test_code: Option<String>,
    /// Trust this CA certificate (PEM) for HTTPS: the mock's `nppa-tls/ca.pem` in TLS or proxy mode.
    #[arg(long, env = "NPPA_CA_CERT")]
    pub ca_cert: Option<PathBuf>,
    /// Send through this proxy (the mock in proxy mode), e.g. with --base-url https://api.wlc.nppa.gov.cn.
    #[arg(long)]
    pub proxy: Option<String>,
    /// Print the request (headers, plaintext, sign string) and the raw answer.
    #[arg(short, long)]
    pub verbose: bool,
    #[command(subcommand)]
    pub command: ClientCommand,
}

/// The three interfaces.
#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Real-name check: POST /idcard/authentication/check.
    Check {
        /// The game's id for this check (≤ 32 characters); query it later if the answer is pending.
        #[arg(long)]
        ai: String,
        /// The player's name.
        #[arg(long)]
        name: String,
        /// The player's 18-character ID number (X upper case).
        #[arg(long)]
        id_num: String,
    },
    /// Result query of a pending check: GET /idcard/authentication/query?ai=….
    Query {
        /// The ai of the pending check.
        #[arg(long)]
        ai: String,
    },
    /// Behaviour report: POST /behavior/collection/loginout, one record or a JSON batch.
    Loginout(LoginoutArgs),
    /// The reference client's whole flow from the NPPA_* environment `nppa certify` provides: the 8 official
    /// cases, then check → query → login/logout. `nppa certify -- nppa client flow` passes every rule.
    Flow,
}

/// One record from flags, or a batch from a file.
#[derive(Debug, Args)]
pub struct LoginoutArgs {
    /// A JSON file (or - for stdin) holding the record array, or the whole `{"collections":[…]}` plaintext.
    #[arg(long, conflicts_with_all = ["si", "pi", "di"])]
    pub collections: Option<PathBuf>,
    /// Session id of the record.
    #[arg(long, required_unless_present = "collections")]
    pub si: Option<String>,
    /// login or logout.
    #[arg(long, value_enum, default_value = "login")]
    pub bt: Behaviour,
    /// Player id of a verified user (ct=0).
    #[arg(long, required_unless_present_any = ["collections", "di"])]
    pub pi: Option<String>,
    /// Device id of a guest (ct=2), when no --pi is given.
    #[arg(long)]
    pub di: Option<String>,
    /// When it happened, Unix seconds. Default: one second before the request's timestamps.
    #[arg(long)]
    pub ot: Option<i64>,
}

/// `bt`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Behaviour {
    Login,
    Logout,
}

/// Runs a client command; the exit code is 0 for errcode 0 and 1 for any other answer.
pub async fn run(args: ClientArgs) -> anyhow::Result<i32> {
    let time = if args.mock_clock { TimeSource::MockClock } else { TimeSource::System };
    let target = match args.test_code {
        Some(test_code) => Target::TestSystem { test_code },
        None => Target::Production,
    };
    let ca_pem = match &args.ca_cert {
        Some(path) => Some(std::fs::read(path).with_context(|| format!("reading {}", path.display()))?),
        None => None,
    };
    let http = crate::client::http_client(ca_pem.as_deref(), args.proxy.as_deref())?;
    let client = Client::new(&args.base_url, &args.app_id, &args.biz_id, &args.secret_key)?
        .with_time(time)
        .with_target(target)
        .with_http(http);
    let exchange = match args.command {
        ClientCommand::Check { ai, name, id_num } => client.check(&ai, &name, &id_num).await?,
        ClientCommand::Query { ai } => client.query(&ai).await?,
        ClientCommand::Flow => {
            let env = crate::certify::reference::FlowEnv::from_lookup(|name| std::env::var(name).ok())?;
            crate::certify::reference::run(&env).await?;
            return Ok(0);
        }
        ClientCommand::Loginout(loginout) => {
            let records = records(&loginout, client.now_ms().await?)?;
            client.loginout(records).await?
        }
    };
    print(&exchange, args.verbose);
    if exchange.errcode() != Some(0) {
        explain_refusal(&client, &exchange).await;
    }
    if exchange.code() == Some(nppa_protocol::StatusCode::Expire) && !args.mock_clock {
        explain_expire(&client).await;
    }
    Ok(if exchange.errcode() == Some(0) { 0 } else { 1 })
}

/// Why the mock did not answer errcode 0: the rule and cause on the journal entry of this very request (found by
/// the `sign` it carried). Says nothing when there is no such entry or no admin API (the real NPPA).
async fn explain_refusal(client: &Client, exchange: &Exchange) {
    let Some((_, sign)) = exchange.request.headers.iter().find(|(name, _)| *name == "sign") else { return };
    let query = JournalQuery { sign: Some(sign.clone()), ..JournalQuery::default() };
    let Ok(page) = client.admin().journal(&query).await else { return };
    let Some(entry) = page.entries.last() else { return };
    let line = match (&entry.rule, &entry.cause) {
        (Some(rule), Some(cause)) => format!("nppa client: refused by {rule}: {cause}"),
        (None, Some(cause)) => format!("nppa client: {cause}"),
        (_, None) => return,
    };
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// A 1007 to a client that signed with the system time: says so when the mock's clock was moved (R-TS-1 judges
/// `timestamps` against the mock clock), and what to do.
async fn explain_expire(client: &Client) {
    let Ok(clock) = client.admin().clock().await else { return };
    let offset_s = clock.offset_from_wall_ms / 1000;
    if offset_s.abs() >= 5 {
        let (by, way) = if offset_s > 0 { (offset_s, "ahead of") } else { (-offset_s, "behind") };
        eprintln!(
            "nppa client: the mock clock is {by} s {way} real time (it was moved), so this timestamps is outside its \
             5 s window: add --mock-clock to sign with the mock's time, or move the clock back: \
             nppa admin clock advance {}s",
            -offset_s
        );
    }
}

/// `--collections` as a report: `{"collections": […]}`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportInput {
    collections: Vec<RecordInput>,
}

/// A record as given: `no` and `ot` may be left out (numbered 1..n, and now − 1 s, as `--si` does).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordInput {
    no: Option<i64>,
    si: String,
    bt: i64,
    ot: Option<i64>,
    ct: i64,
    di: Option<String>,
    pi: Option<String>,
}

impl RecordInput {
    fn record(self, index: usize, now_s: i64) -> BehaviourRecord {
        let no = self.no.unwrap_or(index as i64 + 1);
        BehaviourRecord {
            no,
            si: self.si,
            bt: self.bt,
            ot: self.ot.unwrap_or(now_s),
            ct: self.ct,
            di: self.di,
            pi: self.pi,
        }
    }
}

fn records(args: &LoginoutArgs, now_ms: u64) -> anyhow::Result<Vec<BehaviourRecord>> {
    if let Some(path) = &args.collections {
        let mut text = String::new();
        if path.as_os_str() == "-" {
            std::io::stdin().read_to_string(&mut text).context("reading stdin")?;
        } else {
            text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        }
        // An array is the records; an object is a report with `collections` (chosen by shape, so that an error
        // names the field at fault).
        let parsed = match text.trim_start().starts_with('[') {
            true => serde_json::from_str::<Vec<RecordInput>>(&text),
            false => serde_json::from_str::<ReportInput>(&text).map(|report| report.collections),
        };
        let inputs = match parsed {
            Ok(inputs) => inputs,
            Err(e) => anyhow::bail!(
                "{}: expected a JSON array of records or {{\"collections\":[…]}}, each with si, bt, ct and pi or di \
                 (no and ot may be left out: 1..n and now − 1 s): {e}",
                path.display()
            ),
        };
        let ot = now_ms as i64 / 1000 - 1;
        return Ok(inputs.into_iter().enumerate().map(|(i, r)| r.record(i, ot)).collect());
    }
    let (ct, pi, di) = match (&args.pi, &args.di) {
        (Some(pi), di) => (ct::VERIFIED, Some(pi.clone()), di.clone()),
        (None, Some(di)) => (ct::GUEST, None, Some(di.clone())),
        (None, None) => anyhow::bail!("give --pi for a verified user or --di for a guest"),
    };
    Ok(vec![BehaviourRecord {
        no: 1,
        si: args.si.clone().unwrap_or_default(),
        bt: match args.bt {
            Behaviour::Login => bt::LOGIN,
            Behaviour::Logout => bt::LOGOUT,
        },
        ot: args.ot.unwrap_or(now_ms as i64 / 1000 - 1),
        ct,
        di,
        pi,
    }])
}

/// Prints the answer (stdout) and, verbose, the exchange (stderr). A closed pipe is not an error.
fn print(exchange: &Exchange, verbose: bool) {
    let request = &exchange.request;
    if verbose {
        let mut trace = format!("> {} {}\n", request.method, request.path_and_query);
        for (name, value) in &request.headers {
            trace.push_str(&format!("> {name}: {value}\n"));
        }
        if let Some(plaintext) = &request.plaintext {
            trace.push_str(&format!("> plaintext: {plaintext}\n"));
        }
        if !request.body.is_empty() {
            trace.push_str(&format!("> body: {}\n", String::from_utf8_lossy(&request.body)));
        }
        trace.push_str(&format!("> sign string: {}\n", String::from_utf8_lossy(&request.sign_string)));
        trace.push_str(&format!("< HTTP {}\n< {}\n", exchange.http_status, exchange.response_body));
        let _ = std::io::stderr().write_all(trace.as_bytes());
    }
    // Pretty-printed when it is JSON; as it came otherwise.
    let answer = serde_json::from_str::<serde_json::Value>(&exchange.response_body)
        .and_then(|value| serde_json::to_string_pretty(&value))
        .unwrap_or_else(|_| exchange.response_body.clone());
    let _ = writeln!(std::io::stdout(), "{answer}");
}
