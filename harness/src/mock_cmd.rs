//! `nppa mock`: serve the mock until Ctrl-C or SIGTERM, after printing what a client needs.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use nppa_mockserver::config::{Config, ShadowServe, DEFAULT_TOML};
use nppa_mockserver::journal::DifferenceKind;
use nppa_mockserver::{MockServer, RunningServer};
use nppa_protocol::beijing;

/// Loads `--config FILE`, or the embedded default.
pub fn load_config(path: Option<&Path>) -> anyhow::Result<Config> {
    match path {
        Some(path) => Config::from_file(path).context("refusing to start"),
        None => Ok(Config::from_toml(DEFAULT_TOML, "embedded default", None)?),
    }
}

/// Starts the mock on `listen`.
pub async fn start(config: Config, listen: SocketAddr) -> anyhow::Result<RunningServer> {
    let server = MockServer::new(config).context("refusing to start")?;
    server.bind(listen).await.context("refusing to start")
}

/// What a user needs to call the mock: URL, credentials, a request to paste.
pub fn banner(server: &RunningServer, config_origin: &str) -> String {
    let service = server.service();
    let base = server.base_url();
    let now = service.clock().now_ms();
    let mut out =
        format!("nppa mock — the NPPA real-name system on your machine ({config_origin})\n\n  base URL    {base}\n");
    out.push_str("  endpoints   POST /idcard/authentication/check\n");
    out.push_str("              GET  /idcard/authentication/query?ai=…\n");
    out.push_str("              POST /behavior/collection/loginout\n");
    out.push_str(&format!("  console     {base}{}\n", nppa_mockserver::console::PATH));
    let tenants = service.tenants();
    for enterprise in tenants.enterprises() {
        out.push_str(&format!(
            "\n  enterprise  {}{}\n    appId     {}\n    secretKey {}\n",
            enterprise.name,
            if enterprise.enabled { "" } else { " (disabled)" },
            enterprise.app_id,
            enterprise.keys.current(now).map_or("(no valid key)", |k| k.as_hex())
        ));
    }
    for game in tenants.games() {
        out.push_str(&format!("  game        {} bizId {}\n", game.name, game.biz_id));
    }
    for account in service.test_system().accounts() {
        out.push_str(&format!(
            "\n  test system (for {})\n    appId     {}\n    secretKey {}\n    bizId     {}\n    codes     {}\n",
            account.production_app_id,
            account.enterprise.app_id,
            account.enterprise.keys.current(now).map_or("(no valid key)", |k| k.as_hex()),
            account.biz_id,
            account.codes.join(" "),
        ));
    }
    if service.config().rules.require_test_pass {
        out.push_str("  note        production answers 1008 until an enterprise passes the 8 test cases\n");
    }
    let beijing = beijing::format(now, "%Y-%m-%d %H:%M:%S %:z");
    if let Some(ca) = server.ca_path() {
        out.push_str(&format!(
            "\n  local CA    {} — trust it: curl --cacert, SSL_CERT_FILE / REQUESTS_CA_BUNDLE, keytool -importcert\n",
            ca.display()
        ));
    }
    if service.config().server.proxy {
        out.push_str(&format!(
            "  proxy mode  http_proxy={base} https_proxy={base} — NPPA's own hosts reach this mock\n"
        ));
    }
    let upstream = &service.config().upstream;
    if let Ok(Some(upstreams)) = nppa_mockserver::upstream::Routes::from_config(upstream) {
        out.push_str(match (upstream.shadow, upstream.shadow_serve) {
            (true, ShadowServe::Mock) => {
                "\n  SHADOW      the mock answers; requests are also sent upstream and the answers compared:\n"
            }
            (true, ShadowServe::Upstream) => {
                "\n  SHADOW      the upstream answers the client; the mock answers beside it and the answers are compared:\n"
            }
            (false, _) => "\n  UPSTREAM    requests are forwarded, not answered here; the journal keeps both sides:\n",
        });
        if upstream.shadow && !upstream.shadow_ignore.is_empty() {
            let kinds: Vec<&str> = upstream.shadow_ignore.iter().map(|k| k.as_str()).collect();
            out.push_str(&format!("    not compared: {}\n", kinds.join(", ")));
        }
        for (paths, url) in upstreams.describe() {
            out.push_str(&format!("    {paths:<11} → {url}\n"));
        }
        out.push_str("    real credentials and real identity data pass through this mock and its journal\n");
    }
    out.push_str(&format!("\n  mock clock  {beijing} (Beijing time; move it with POST {base}/__admin/clock)\n"));
    if service.config().rules.mps_outage && beijing::in_mps_outage(now) {
        out.push_str("  note        it is 00:00–04:00 in Beijing: every check pends until 04:00 (R-PEND-2)\n");
    }
    if let (Some(enterprise), Some(game)) = (tenants.enterprises().first(), tenants.games().first()) {
        let defaults = enterprise.app_id == crate::DEFAULT_APP_ID && game.biz_id == crate::DEFAULT_BIZ_ID;
        let mut creds = if defaults {
            String::new()
        } else {
            format!(
                " --app-id {} --biz-id {} --secret-key {}",
                enterprise.app_id,
                game.biz_id,
                enterprise.keys.current(now).map_or("(no valid key)", |k| k.as_hex())
            )
        };
        let mut curl_ca = String::new();
        if let Some(ca) = server.ca_path().filter(|_| service.config().server.tls) {
            creds.push_str(&format!(" --ca-cert {}", ca.display()));
            curl_ca = format!(" --cacert {}", ca.display());
        }
        out.push_str(&format!(
            "\nTry (from a checkout, `nppa` is `cargo run --release --`):\n  nppa client --base-url {base}{creds} -v check --ai 100000000000000001 --name 某一一 --id-num 110000190101010001\n  curl -s{curl_ca} {base}/__admin/clock\n"
        ));
    }
    out
}

/// Command-line settings that override the configuration.
#[derive(Debug, Default)]
pub struct MockFlags {
    pub tls: bool,
    pub proxy: bool,
    pub tls_dir: Option<PathBuf>,
    pub journal: Option<PathBuf>,
    pub admin_token: Option<String>,
    /// Whitelist entries added to every enterprise and test account.
    pub allow_client_ip: Vec<String>,
    /// `upstream.url`: every interface forwarded there.
    pub upstream: Option<String>,
    /// `upstream.url` with `upstream.shadow`: every interface also sent there, the answers compared.
    pub shadow: Option<String>,
    /// `upstream.shadow_serve`.
    pub shadow_serve: Option<ShadowServe>,
    /// Added to `upstream.shadow_ignore`.
    pub shadow_ignore: Vec<DifferenceKind>,
}

impl MockFlags {
    fn apply(self, config: &mut Config) {
        config.server.tls |= self.tls;
        config.server.proxy |= self.proxy;
        if let Some(dir) = self.tls_dir {
            config.server.tls_dir = dir;
        }
        if self.journal.is_some() {
            config.journal.file = self.journal;
        }
        if self.admin_token.is_some() {
            config.server.admin_token = self.admin_token;
        }
        if self.upstream.is_some() {
            config.upstream.url = self.upstream;
        }
        if self.shadow.is_some() {
            config.upstream.url = self.shadow;
            config.upstream.shadow = true;
        }
        if let Some(whose) = self.shadow_serve {
            config.upstream.shadow_serve = whose;
        }
        for kind in self.shadow_ignore {
            if !config.upstream.shadow_ignore.contains(&kind) {
                config.upstream.shadow_ignore.push(kind);
            }
        }
        for enterprise in &mut config.enterprises {
            let lists = std::iter::once(&mut enterprise.ip_whitelist)
                .chain(enterprise.test.as_mut().map(|t| &mut t.ip_whitelist));
            for list in lists {
                for net in &self.allow_client_ip {
                    if !list.contains(net) {
                        list.push(net.clone());
                    }
                }
            }
        }
    }
}

/// Serves until Ctrl-C or SIGTERM, then shuts down cleanly. The configuration is checked again after the flags
/// changed it (a bad `--allow-client-ip` is refused with the field it landed in).
pub async fn run(config_path: Option<&Path>, flags: MockFlags, listen: SocketAddr) -> anyhow::Result<()> {
    let mut config = load_config(config_path)?;
    flags.apply(&mut config);
    let origin = config_path.map_or_else(|| "embedded default configuration".to_owned(), |p| p.display().to_string());
    let server = start(config, listen).await?;
    // A closed stdout (`nppa mock | head`) must not stop the server: write errors are ignored.
    let _ = writeln!(std::io::stdout(), "{}", banner(&server, &origin));
    wait_for_stop_signal().await;
    let _ = writeln!(std::io::stderr(), "nppa mock: stopping (letting requests in flight finish)…");
    server.shutdown().await;
    Ok(())
}

async fn wait_for_stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
