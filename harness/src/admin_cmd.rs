//! `nppa admin …`: the mock's admin API from the command line (docs/admin-api.md).

use anyhow::Context as _;
use clap::{Args, Subcommand};
use nppa_mockserver::admin_api::{self as api, KeyAction, StreamLine};
use nppa_mockserver::faults::FaultRequest;
use nppa_mockserver::journal::{JournalEntry, JournalQuery};
use nppa_protocol::{beijing, Interface};
use serde::Serialize;

use crate::admin_client::AdminClient;

/// Options shared by every admin command.
#[derive(Debug, Args)]
pub struct AdminArgs {
    /// Base URL of the mock.
    #[arg(long, env = "NPPA_BASE_URL", default_value = "http://127.0.0.1:8080")]
    pub base_url: String,
    /// The mock's `server.admin_token`, sent as `Authorization: Bearer …` (needed from another machine).
    #[arg(long, global = true, env = "NPPA_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// Show the secretKeys in `enterprises` and `testsystem` (redacted otherwise; the token shows them anyway).
    #[arg(long, global = true)]
    pub reveal_keys: bool,
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
    /// Live records per game, or with an ai its records and their times (checked, resolves, deleted), read
    /// without changing them.
    Records { ai: Option<String> },
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
    /// The test system: credentials, codes and each case's state (`--reset` forgets the progress); the test
    /// secretKey with `--reveal-keys`.
    Testsystem {
        #[arg(long)]
        reset: bool,
    },
    /// Shadow mode (`nppa mock --shadow URL`): `shadow report` counts each kind of difference between the upstream's
    /// answers and the mock's in the journal, with the first exchanges that showed it (Markdown; --json).
    Shadow {
        #[command(subcommand)]
        action: ShadowAction,
    },
    /// Enterprises and their keys (the secretKeys with `--reveal-keys`); `enterprises refresh-key APPID`,
    /// `enterprises invalidate-key APPID KEY`, `enterprises disable APPID`, `enterprises enable APPID`.
    Enterprises {
        #[command(subcommand)]
        change: Option<EnterpriseChange>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ClockChange {
    /// Move forward (e.g. 300s, 5m, 48h, 1day; prefix - to go back).
    Advance {
        #[arg(allow_hyphen_values = true)]
        duration: String,
    },
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
    pub interface: Option<Interface>,
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
pub enum ShadowAction {
    /// Each kind of difference with its count and first exchanges, from the journal's ring.
    Report {
        /// The report as JSON.
        #[arg(long)]
        json: bool,
    },
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
    let mut admin = AdminClient::new(&args.base_url);
    if let Some(token) = args.admin_token {
        admin = admin.with_token(token);
    }
    if args.reveal_keys {
        admin = admin.revealing_keys();
    }
    match args.command {
        AdminCommand::Clock { change: None } => print_json(&admin.clock().await?),
        AdminCommand::Clock { change: Some(change) } => {
            let change = match change {
                ClockChange::Advance { duration } => api::ClockChange::advance(parse_duration_ms(&duration)?),
                ClockChange::Set { time } => api::ClockChange::set(time_ms(&time)?),
                ClockChange::Freeze => api::ClockChange::freeze(true),
                ClockChange::Unfreeze => api::ClockChange::freeze(false),
            };
            print_json(&admin.change_clock(change).await?)
        }
        AdminCommand::Reset => print_json(&admin.reset().await?),
        AdminCommand::Stats => print_json(&admin.stats().await?),
        AdminCommand::Records { ai: None } => print_json(&admin.record_counts().await?),
        AdminCommand::Records { ai: Some(ai) } => print_json(&admin.records(&ai).await?),
        AdminCommand::Journal(journal) => return run_journal(&admin, journal).await,
        AdminCommand::Shadow { action: ShadowAction::Report { json } } => {
            let report = crate::shadow_report::ShadowReport::of(&whole_journal(&admin).await?);
            match json {
                true => print_json(&report),
                false => print!("{}", report.markdown()),
            }
        }
        AdminCommand::Faults { change } => match change {
            None => print_json(&admin.faults().await?),
            Some(FaultsChange::Add { rule }) => {
                let rule: FaultRequest = serde_json::from_str(&rule)
                    .context("the rule is not a fault rule (see docs/admin-api.md, section \"Faults\")")?;
                print_json(&admin.add_faults(&rule).await?)
            }
            Some(FaultsChange::Remove { id }) => print_json(&admin.remove_fault(id).await?),
            Some(FaultsChange::Clear) => print_json(&admin.clear_faults().await?),
        },
        AdminCommand::Scenario { scenario } => match scenario {
            Scenario::MpsOutage { duration } => {
                let duration_ms = u64::try_from(parse_duration_ms(&duration)?).context("an outage lasts forward")?;
                print_json(&admin.mps_outage(duration_ms).await?)
            }
            Scenario::PendingRatio { fraction } => print_json(&admin.pending_ratio(fraction).await?),
        },
        AdminCommand::Testsystem { reset: false } => print_json(&admin.test_system().await?),
        AdminCommand::Testsystem { reset: true } => print_json(&admin.reset_test_system().await?),
        AdminCommand::Enterprises { change } => {
            let list = match change {
                None => admin.enterprises().await?,
                Some(EnterpriseChange::RefreshKey { app_id }) => admin.key_action(&app_id, &KeyAction::Refresh).await?,
                Some(EnterpriseChange::InvalidateKey { app_id, secret_key }) => {
                    admin.key_action(&app_id, &KeyAction::Invalidate { secret_key }).await?
                }
                Some(EnterpriseChange::Disable { app_id }) => admin.change_enterprise(&app_id, &enabled(false)).await?,
                Some(EnterpriseChange::Enable { app_id }) => admin.change_enterprise(&app_id, &enabled(true)).await?,
            };
            print_json(&list)
        }
    }
    Ok(0)
}

fn enabled(enabled: bool) -> api::EnterpriseChange {
    api::EnterpriseChange { enabled: Some(enabled), ..Default::default() }
}

fn print_json(value: &impl Serialize) {
    use std::io::Write as _;
    let text = serde_json::to_string_pretty(value).unwrap_or_default();
    let _ = writeln!(std::io::stdout(), "{text}");
}

/// One journal entry on one line: `#17 12:00:00.123 POST /idcard/authentication/check → 0 (84 µs)`, and on a
/// refusal its rule and cause: `… → errcode 1007 (84 µs) — R-TS-1: timestamps … is 31.0 s behind the mock clock …`.
pub fn entry_line(entry: &JournalEntry) -> String {
    let time = beijing::format(entry.time_ms, "%m-%d %H:%M:%S%.3f");
    let target = match &entry.query {
        Some(query) => format!("{}?{query}", entry.path),
        None => entry.path.clone(),
    };
    let result = match (entry.errcode, entry.connection_reset) {
        (_, true) => "connection reset".to_owned(),
        (Some(code), _) => format!("errcode {code}"),
        (None, _) => format!("HTTP {}", entry.http_status),
    };
    let sign = if entry.sign_ok == Some(false) { " [sign mismatch]" } else { "" };
    let fault = entry.fault.as_ref().map(|f| format!(" [{f}]")).unwrap_or_default();
    let broken = entry.http_error.as_ref().map(|e| format!(" [{}: {}]", e.kind.as_str(), e.detail)).unwrap_or_default();
    // A request that never parsed has no method or path: what arrived stands in for them.
    let head = match (entry.method.is_empty(), &entry.raw) {
        (true, Some(raw)) => format!("{:?}", raw.chars().take(60).collect::<String>()),
        (true, None) if entry.raw_base64.is_some() => "(bytes that are not UTF-8)".to_owned(),
        _ => format!("{} {target}", entry.method),
    };
    // Why it was refused (a fault's cause is already in `fault`).
    let why = match (&entry.rule, &entry.cause) {
        (Some(rule), Some(cause)) => format!(" — {rule}: {cause}"),
        _ => String::new(),
    };
    format!("#{} {time} {head} → {result}{sign}{fault}{broken} ({} µs){why}", entry.id, entry.latency_us)
}

/// Every entry in the journal's ring, page by page.
async fn whole_journal(admin: &AdminClient) -> anyhow::Result<Vec<JournalEntry>> {
    let mut entries: Vec<JournalEntry> = Vec::new();
    loop {
        let query = JournalQuery { after_id: entries.last().map(|e| e.id), ..JournalQuery::default() };
        let page = admin.journal(&query).await?.entries;
        if page.is_empty() {
            return Ok(entries);
        }
        entries.extend(page);
    }
}

async fn run_journal(admin: &AdminClient, args: JournalArgs) -> anyhow::Result<i32> {
    use std::io::Write as _;
    match args.action {
        Some(JournalAction::Clear) => {
            print_json(&admin.clear_journal().await?);
            Ok(0)
        }
        Some(JournalAction::Tail { json }) => {
            let mut response = admin.journal_stream().await?;
            let mut pending = String::new();
            let mut out = std::io::stdout();
            while let Some(chunk) = response.chunk().await.context("the journal stream broke off")? {
                pending.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = pending.find('\n') {
                    let line: String = pending.drain(..=end).collect();
                    let Ok(parsed) = serde_json::from_str::<StreamLine>(line.trim()) else { continue };
                    let text = match parsed {
                        StreamLine::Heartbeat { .. } => continue,
                        StreamLine::Lagged { lagged } => format!("… {lagged} entries missed (the reader fell behind)"),
                        StreamLine::Entry(_) if json => line.trim().to_owned(),
                        StreamLine::Entry(entry) => entry_line(&entry),
                    };
                    if writeln!(out, "{text}").is_err() {
                        return Ok(0);
                    }
                }
            }
            Ok(0)
        }
        None => {
            let query = JournalQuery {
                interface: args.interface,
                errcode: args.errcode,
                after_id: args.after_id,
                limit: Some(args.limit),
                ..JournalQuery::default()
            };
            let page = admin.journal(&query).await?;
            if args.json {
                print_json(&page);
                return Ok(0);
            }
            let mut out = std::io::stdout();
            for entry in &page.entries {
                if writeln!(out, "{}", entry_line(entry)).is_err() {
                    break;
                }
            }
            let stats = serde_json::to_string(&page.stats).unwrap_or_default();
            let _ = writeln!(std::io::stderr(), "journal: {stats}");
            Ok(0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_that_never_parsed_shows_its_first_bytes_and_why() {
        use nppa_mockserver::http_error::{HttpError, HttpErrorKind};
        let error = HttpError { kind: HttpErrorKind::TooLarge, detail: "uri too long".into() };
        let entry = JournalEntry::http_error("127.0.0.1".into(), 0, error, 414, b"GET /idcard?ai=aaaa HTTP/1.1");
        let line = entry_line(&entry);
        assert!(
            line.ends_with(r#" "GET /idcard?ai=aaaa HTTP/1.1" → HTTP 414 [too_large: uri too long] (0 µs)"#),
            "{line}"
        );
    }

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
