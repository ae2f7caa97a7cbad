//! `nppa`: the NPPA anti-addiction real-name system on your machine — a mock server rule for rule,
//! and a reference client to poke it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use nppa_harness::{admin_cmd, client_cmd, load_cmd, mock_cmd};
use nppa_mockserver::config::ShadowServe;
use nppa_mockserver::journal::DifferenceKind;

#[derive(Debug, Parser)]
#[command(
    name = "nppa",
    version,
    about = "Test integrations with China's NPPA anti-addiction real-name system (网络游戏防沉迷实名认证系统) on your own machine",
    long_about = "Test integrations with China's NPPA anti-addiction real-name system (网络游戏防沉迷实名认证系统).\n\n\
        `nppa mock` serves the three production endpoints (check, query, loginout) with the real envelope, \
        signatures, status codes, quotas and record lifecycle, plus a clock you can move. \
        `nppa client` sends correct requests to it.\n\n\
        Exit codes: 0 success; 1 the answer was a protocol error (client); 2 could not run.",
    after_help = "Quick start:\n  nppa mock                       # serve on 127.0.0.1:8080 with the V2.1 spec's example credentials\n  nppa client check --ai 100000000000000001 --name 某一一 --id-num 110000190101010001"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the mock NPPA server until Ctrl-C.
    #[command(
        after_help = "With no --config, the embedded default serves the V2.1 spec's example enterprise:\n  appId fdc6688637bc468e9aea874654cbead2, secretKey b4c932250dbe59ff53b15ee993a9feb5, bizId 1101999999.\nSee config/default.toml for every setting."
    )]
    Mock {
        /// Address to listen on.
        #[arg(long, default_value = nppa_harness::DEFAULT_LISTEN)]
        listen: SocketAddr,
        /// TOML configuration (see config/default.toml); without it the embedded default is served.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Serve HTTPS, with certificates from a local CA kept in --tls-dir (trust its ca.pem once).
        #[arg(long)]
        tls: bool,
        /// Proxy mode: also tunnel CONNECT, so that a client with hard-coded NPPA hosts reaches the mock
        /// through https_proxy (trusting ca.pem); http_proxy works in every mode.
        #[arg(long)]
        proxy: bool,
        /// Where the local CA lives (created when missing).
        #[arg(long)]
        tls_dir: Option<PathBuf>,
        /// Append every request to this JSONL file (the journal; see README, "Admin API").
        #[arg(long)]
        journal: Option<PathBuf>,
        /// Let requests that carry this token (Authorization: Bearer TOKEN) use the admin API from any machine,
        /// e.g. from the host when the mock runs in a container (sets server.admin_token).
        #[arg(long, env = "NPPA_ADMIN_TOKEN", hide_env_values = true, value_name = "TOKEN")]
        admin_token: Option<String>,
        /// Also accept protocol requests from these client addresses or CIDR ranges: added to every enterprise's
        /// IP whitelist, test system included (R-IP-1). Repeat it, or separate with commas; a container needs
        /// its bridge network's range.
        #[arg(long, env = "NPPA_ALLOW_CLIENT_IPS", value_delimiter = ',', value_name = "NET")]
        allow_client_ip: Vec<String>,
        /// Upstream mode: forward every production and test-system request unchanged to this URL (e.g. the real
        /// NPPA's) and pass its answers back, journaling both sides. Real credentials and identity data then pass
        /// through. Per-interface URLs: [upstream] in --config. Without it, nothing is ever forwarded.
        #[arg(long, value_name = "URL", value_parser = upstream_url)]
        upstream: Option<String>,
        /// Shadow mode: the mock answers, and every production and test-system request is also sent to this URL;
        /// the two answers are compared by meaning, differences journaled (`upstream.differences`) and counted in
        /// /metrics. Real credentials and identity data then pass through.
        #[arg(long, value_name = "URL", value_parser = upstream_url, conflicts_with = "upstream")]
        shadow: Option<String>,
        /// Shadow mode: whose answer the client gets. `mock` (default) tests your client against the mock while
        /// the real system is watched; `upstream` keeps a staging client on the real system's answers while the
        /// mock answers beside it, its own state following its own answers (fault rules are not applied then).
        #[arg(long, value_name = "WHOSE", value_parser = shadow_serve)]
        shadow_serve: Option<ShadowServe>,
        /// Shadow mode: kinds of difference not compared, e.g. `pi` (the mock's pi are its own). Repeat it, or
        /// separate with commas: http_status, readable, errcode, status, pi, rejected, data_shape.
        #[arg(long, value_name = "KIND", value_delimiter = ',', value_parser = difference_kind)]
        shadow_ignore: Vec<DifferenceKind>,
        /// Print the embedded default configuration and exit.
        #[arg(long)]
        print_config: bool,
    },
    /// Send one correct, signed request (check, query or loginout) and print the answer.
    Client(client_cmd::ClientArgs),
    /// Run your client against the mock and judge its traffic: the 8 official cases, the envelope, behaviour
    /// reporting, real-name discipline, error handling. Writes JUnit XML, Markdown, JSON and HTML reports.
    #[command(
        after_help = "Example:\n  nppa certify -- python3 my_client.py\n  nppa certify --profile official --repeat 3 -- ./gradlew nppaTest\n  nppa certify --profile fuzz --skip busy -- python3 my_client.py   # varied answers; a failure shrunk to its cause\n  nppa certify --profile fuzz --seed 11 --replay 13:keys_reversed -- python3 my_client.py   # one variation alone\nExit codes: 0 every rule passed, 1 findings, 2 could not run."
    )]
    Certify(nppa_harness::certify::CertifyArgs),
    /// Drive a running mock: clock, reset, journal, faults, scenarios, test system, enterprises and keys.
    Admin(admin_cmd::AdminArgs),
    /// Load the mock (in-process by default) with a goose scenario: realname, report, logout-burst, quota-probe,
    /// mixed. Writes HDR latency percentiles per interface and errcode, plots, Markdown and JSON.
    Load(load_cmd::LoadArgs),
    /// Will a logout burst make it inside 180 s? The sizing model with its formulas; --simulate checks it on the
    /// mock's clock.
    Size(load_cmd::SizeArgs),
}

/// Warnings and errors, without the platform verifier's: it logs an error for every certificate it refuses, which
/// under load is a line per request; `nppa load` and the upstream's journal say why once, where it is read.
const DEFAULT_LOG: &str = "warn,rustls_platform_verifier=off";

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| DEFAULT_LOG.into()))
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("nppa: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Mock { print_config: true, .. } => {
                print!("{}", nppa_mockserver::config::DEFAULT_TOML);
                Ok(0)
            }
            Command::Mock {
                listen,
                config,
                journal,
                tls,
                proxy,
                tls_dir,
                admin_token,
                allow_client_ip,
                upstream,
                shadow,
                shadow_serve,
                shadow_ignore,
                ..
            } => {
                let flags = mock_cmd::MockFlags {
                    tls,
                    proxy,
                    tls_dir,
                    journal,
                    admin_token,
                    allow_client_ip,
                    upstream,
                    shadow,
                    shadow_serve,
                    shadow_ignore,
                };
                mock_cmd::run(config.as_deref(), flags, listen).await.map(|()| 0)
            }
            Command::Client(args) => client_cmd::run(args).await,
            Command::Admin(args) => admin_cmd::run(args).await,
            Command::Certify(args) => nppa_harness::certify::run(args).await,
            Command::Load(args) => load_cmd::run(args).await,
            Command::Size(args) => load_cmd::size(args).await,
        }
    });
    match result {
        Ok(code) => ExitCode::from(code as u8),
        Err(e) => {
            eprintln!("nppa: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// `--shadow-serve mock|upstream`.
fn shadow_serve(text: &str) -> Result<ShadowServe, String> {
    text.parse()
}

/// `--shadow-ignore KIND`: a kind of difference by its JSON name.
fn difference_kind(text: &str) -> Result<DifferenceKind, String> {
    text.parse()
}

/// `--upstream URL`: http or https, a host, perhaps a path prefix.
fn upstream_url(text: &str) -> Result<String, String> {
    nppa_mockserver::config::upstream_url(text).map(|_| text.to_owned())
}
