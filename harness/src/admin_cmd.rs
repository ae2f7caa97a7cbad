//! `nppa admin …`: the mock's admin API from the command line (docs/admin-api.md).

use anyhow::{bail, Context as _};
use clap::{Args, Subcommand};
use nppa_protocol::beijing;
use serde_json::{json, Value};

/// Options shared by every admin command.
#[derive(Debug, Args)]
pub struct AdminArgs {
    /// Base URL of the mock.
    #[arg(long, env = "NPPA_BASE_URL", default_value = "http://127.0.0.1:8080")]
    pub base_url: String,
    #[command(subcommand)]
    pub command: AdminCommand,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Show the mock clock, or move it: `clock advance 300s`, `clock set 2026-01-15T04:00:00+08:00`, `clock freeze`.
    Clock {
        #[command(subcommand)]
        change: Option<ClockChange>,
    },
    /// Drop every record, quota block, test-case progress, journal entry and fault rule.
    Reset,
    /// Live records and quota blocks.
    Stats,
    /// List journal entries (one line each; --json for the whole entries), or `journal tail` / `journal clear`.
    Journal(JournalArgs),
    /// List fault rules, or `faults add …`, `faults remove ID`, `faults clear`.
    Faults {
        #[command(subcommand)]
        change: Option<FaultsChange>,
    },
    /// Stage a situation: `scenario mps-outage 10m`, `scenario pending-ratio 0.3`.
    Scenario {
        #[command(subcommand)]
        scenario: Scenario,
    },
    /// The test system: credentials, codes and each case's state (`--reset` forgets the progress).
    Testsystem {
        #[arg(long)]
        reset: bool,
    },
    /// Enterprises and their keys; `enterprises refresh-key APPID`, `enterprises invalidate-key APPID KEY`,
    /// `enterprises disable APPID`, `enterprises enable APPID`.
    Enterprises {
        #[command(subcommand)]
        change: Option<EnterpriseChange>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ClockChange {
    /// Move forward (e.g. 300s, 5m, 48h, 1day; prefix - to go back).
    Advance { duration: String },
    /// Set to an RFC 3339 time or Unix milliseconds; the clock keeps ticking from there.
    Set { time: String },
    /// Stop the clock.
    Freeze,
    /// Let it tick again.
    Unfreeze,
}

#[derive(Debug, Args)]
pub struct JournalArgs {
    #[command(subcommand)]
    pub action: Option<JournalAction>,
    /// Only this interface (check, query, loginout).
    #[arg(long)]
    pub interface: Option<String>,
    /// Only this errcode.
    #[arg(long)]
    pub errcode: Option<u16>,
    /// Only entries with an id above this.
    #[arg(long)]
    pub after_id: Option<u64>,
    /// At most this many (the oldest first).
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
    /// Print whole entries as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum JournalAction {
    /// Print entries as they arrive, until Ctrl-C.
    Tail {
        /// Print whole entries as JSON lines.
        #[arg(long)]
        json: bool,
    },
    /// Empty the journal's ring.
    Clear,
}

#[derive(Debug, Subcommand)]
pub enum FaultsChange {
    /// Add a rule, given as JSON (see docs/admin-api.md), e.g.
    /// '{"interface":"check","probability":0.2,"action":{"kind":"status","errcode":2007}}'.
    Add { rule: String },
    /// Remove one rule.
    Remove { id: u64 },
    /// Remove every rule.
    Clear,
}

#[derive(Debug, Subcommand)]
pub enum Scenario {
    /// Checks answer 2007 for this long on the mock clock (e.g. 10m).
    MpsOutage { duration: String },
    /// This share of unknown people pends from now on.
    PendingRatio { fraction: f64 },
}

#[derive(Debug, Subcommand)]
pub enum EnterpriseChange {
    /// A manual key refresh (the old key stays valid 3 days).
    RefreshKey { app_id: String },
    /// Invalidate a key now.
    InvalidateKey { app_id: String, secret_key: String },
    /// Disable the enterprise (1009).
    Disable { app_id: String },
    /// Enable it again.
    Enable { app_id: String },
}

struct Admin {
    http: reqwest::Client,
    base: String,
}

impl Admin {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> anyhow::Result<Value> {
        let url = format!("{}{path}", self.base);
        let mut request = self.http.request(method.clone(), &url);
        if let Some(body) = body {
            request = request.body(body.to_string());
        }
        let response = request.send().await.with_context(|| format!("{method} {url} (is `nppa mock` running?)"))?;
        let status = response.status();
        let value: Value = response.json().await.with_context(|| format!("{url} did not answer JSON"))?;
        if !status.is_success() {
            bail!("{method} {url}: HTTP {status}: {}", value["error"].as_str().unwrap_or(&value.to_string()));
        }
        Ok(value)
    }
}

/// A duration like `300s`, `5m`, `48h`, `1day`, `1500ms`, or `-1h`: milliseconds.
pub fn parse_duration_ms(text: &str) -> anyhow::Result<i64> {
    let (sign, text) = match text.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, text),
    };
    let duration = humantime::parse_duration(text)
        .with_context(|| format!("{text:?} is not a duration (examples: 300s, 5m, 48h, 1day, 1500ms)"))?;
    Ok(sign * i64::try_from(duration.as_millis()).unwrap_or(i64::MAX))
}

fn time_ms(text: &str) -> anyhow::Result<u64> {
    if let Ok(ms) = text.parse::<u64>() {
        return Ok(ms);
    }
    let time = chrono::DateTime::parse_from_rfc3339(text).with_context(|| {
        format!("{text:?} is neither Unix milliseconds nor an RFC 3339 time (2026-01-15T04:00:00+08:00)")
    })?;
    u64::try_from(time.timestamp_millis()).context("a time before 1970")
}

/// Runs an admin command.
pub async fn run(args: AdminArgs) -> anyhow::Result<i32> {
    let admin = Admin { http: reqwest::Client::new(), base: args.base_url.trim_end_matches('/').to_owned() };
    use reqwest::Method as M;
    let value = match args.command {
        AdminCommand::Clock { change: None } => admin.call(M::GET, "/__admin/clock", None).await?,
        AdminCommand::Clock { change: Some(change) } => {
            let body = match change {
                ClockChange::Advance { duration } => json!({ "advance_ms": parse_duration_ms(&duration)? }),
                ClockChange::Set { time } => json!({ "set_ms": time_ms(&time)? }),
                ClockChange::Freeze => json!({ "freeze": true }),
                ClockChange::Unfreeze => json!({ "freeze": false }),
            };
            admin.call(M::POST, "/__admin/clock", Some(body)).await?
        }
        AdminCommand::Reset => admin.call(M::POST, "/__admin/reset", None).await?,
        AdminCommand::Stats => admin.call(M::GET, "/__admin/stats", None).await?,
        AdminCommand::Journal(journal) => return run_journal(&admin, journal).await,
        AdminCommand::Faults { change } => match change {
            None => admin.call(M::GET, "/__admin/faults", None).await?,
            Some(FaultsChange::Add { rule }) => {
                let rule: Value = serde_json::from_str(&rule).context("the rule is not JSON")?;
                admin.call(M::POST, "/__admin/faults", Some(rule)).await?
            }
            Some(FaultsChange::Remove { id }) => admin.call(M::DELETE, &format!("/__admin/faults/{id}"), None).await?,
            Some(FaultsChange::Clear) => admin.call(M::DELETE, "/__admin/faults", None).await?,
        },
        AdminCommand::Scenario { scenario } => match scenario {
            Scenario::MpsOutage { duration } => {
                let body = json!({ "duration_ms": parse_duration_ms(&duration)? });
                admin.call(M::POST, "/__admin/scenarios/mps-outage", Some(body)).await?
            }
            Scenario::PendingRatio { fraction } => {
                admin.call(M::POST, "/__admin/scenarios/pending-ratio", Some(json!({ "fraction": fraction }))).await?
            }
        },
        AdminCommand::Testsystem { reset: false } => admin.call(M::GET, "/__admin/testsystem", None).await?,
        AdminCommand::Testsystem { reset: true } => admin.call(M::POST, "/__admin/testsystem/reset", None).await?,
        AdminCommand::Enterprises { change } => match change {
            None => admin.call(M::GET, "/__admin/enterprises", None).await?,
            Some(EnterpriseChange::RefreshKey { app_id }) => {
                let path = format!("/__admin/enterprises/{app_id}/keys");
                admin.call(M::POST, &path, Some(json!({ "action": "refresh" }))).await?
            }
            Some(EnterpriseChange::InvalidateKey { app_id, secret_key }) => {
                let path = format!("/__admin/enterprises/{app_id}/keys");
                admin.call(M::POST, &path, Some(json!({ "action": "invalidate", "secret_key": secret_key }))).await?
            }
            Some(EnterpriseChange::Disable { app_id }) => {
                admin
                    .call(M::POST, &format!("/__admin/enterprises/{app_id}"), Some(json!({ "enabled": false })))
                    .await?
            }
            Some(EnterpriseChange::Enable { app_id }) => {
                admin.call(M::POST, &format!("/__admin/enterprises/{app_id}"), Some(json!({ "enabled": true }))).await?
            }
        },
    };
    print_json(&value);
    Ok(0)
}

fn print_json(value: &Value) {
    use std::io::Write as _;
    let text = serde_json::to_string_pretty(value).unwrap_or_default();
    let _ = writeln!(std::io::stdout(), "{text}");
}

/// One journal entry on one line: `#17 12:00:00.123 POST /idcard/authentication/check → 0 (84 µs)`.
pub fn entry_line(entry: &Value) -> String {
    let time = entry["time_ms"].as_u64().map(|t| beijing::format(t, "%m-%d %H:%M:%S%.3f")).unwrap_or_default();
    let target = match entry["query"].as_str() {
        Some(query) => format!("{}?{query}", entry["path"].as_str().unwrap_or("")),
        None => entry["path"].as_str().unwrap_or("").to_owned(),
    };
    let result = match (entry["errcode"].as_u64(), entry["connection_reset"].as_bool()) {
        (_, Some(true)) => "connection reset".to_owned(),
        (Some(code), _) => format!("errcode {code}"),
        (None, _) => format!("HTTP {}", entry["http_status"]),
    };
    let sign = match entry["sign_ok"].as_bool() {
        Some(false) => " [sign mismatch]",
        _ => "",
    };
    let fault = entry["fault"].as_str().map(|f| format!(" [{f}]")).unwrap_or_default();
    format!(
        "#{} {time} {} {target} → {result}{sign}{fault} ({} µs)",
        entry["id"],
        entry["method"].as_str().unwrap_or(""),
        entry["latency_us"]
    )
}

async fn run_journal(admin: &Admin, args: JournalArgs) -> anyhow::Result<i32> {
    use std::io::Write as _;
    match args.action {
        Some(JournalAction::Clear) => {
            print_json(&admin.call(reqwest::Method::DELETE, "/__admin/journal", None).await?);
            Ok(0)
        }
        Some(JournalAction::Tail { json }) => {
            let url = format!("{}/__admin/journal/stream", admin.base);
            let mut response =
                admin.http.get(&url).send().await.with_context(|| format!("GET {url} (is `nppa mock` running?)"))?;
            let mut pending = String::new();
            let mut out = std::io::stdout();
            while let Some(chunk) = response.chunk().await.context("the journal stream broke off")? {
                pending.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = pending.find('\n') {
                    let line: String = pending.drain(..=end).collect();
                    let Ok(entry) = serde_json::from_str::<Value>(line.trim()) else { continue };
                    let text = if entry.get("heartbeat_ms").is_some() {
                        continue;
                    } else if let Some(missed) = entry.get("lagged") {
                        format!("… {missed} entries missed (the reader fell behind)")
                    } else if json {
                        line.trim().to_owned()
                    } else {
                        entry_line(&entry)
                    };
                    if writeln!(out, "{text}").is_err() {
                        return Ok(0);
                    }
                }
            }
            Ok(0)
        }
        None => {
            let mut query = vec![format!("limit={}", args.limit)];
            if let Some(interface) = &args.interface {
                query.push(format!("interface={interface}"));
            }
            if let Some(errcode) = args.errcode {
                query.push(format!("errcode={errcode}"));
            }
            if let Some(after) = args.after_id {
                query.push(format!("after_id={after}"));
            }
            let value =
                admin.call(reqwest::Method::GET, &format!("/__admin/journal?{}", query.join("&")), None).await?;
            if args.json {
                print_json(&value);
                return Ok(0);
            }
            let mut out = std::io::stdout();
            for entry in value["entries"].as_array().into_iter().flatten() {
                if writeln!(out, "{}", entry_line(entry)).is_err() {
                    break;
                }
            }
            let _ = writeln!(std::io::stderr(), "journal: {}", value["stats"]);
            Ok(0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(parse_duration_ms("300s").ok(), Some(300_000));
        assert_eq!(parse_duration_ms("48h").ok(), Some(172_800_000));
        assert_eq!(parse_duration_ms("-1m").ok(), Some(-60_000));
        assert_eq!(parse_duration_ms("1500ms").ok(), Some(1500));
        assert!(parse_duration_ms("soon").is_err());
        assert_eq!(time_ms("2026-01-15T04:00:00+08:00").ok(), Some(1_768_420_800_000));
        assert_eq!(time_ms("5").ok(), Some(5));
    }
}
