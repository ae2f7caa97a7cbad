//! `nppa certify --console`: the mock's web console for a vendor watching a certification live. Its URL is printed
//! before the client starts (and given to the client as `NPPA_CONSOLE_URL`); after the verdict the in-process mock
//! stays up until Enter or Ctrl-C, so that the exchanges can still be read. Without a terminal on stdin (CI) it does
//! not wait.

use std::io::IsTerminal as _;

/// The client's environment variable holding the console's URL (without the admin token).
pub const ENV: &str = "NPPA_CONSOLE_URL";

/// The console of the mock at `base_url`.
#[derive(Debug, Clone)]
pub struct Console {
    url: String,
    /// `server.admin_token`: the page takes it from the URL's fragment (which never reaches a server or a log).
    token: Option<String>,
}

impl Console {
    pub fn new(base_url: &str, admin_token: Option<&str>) -> Console {
        let url = format!("{}{}", base_url.trim_end_matches('/'), nppa_mockserver::console::PATH);
        Console { url, token: admin_token.filter(|t| !t.is_empty()).map(str::to_owned) }
    }

    /// The URL to open: with `#token=` when the mock has an admin token.
    pub fn url_to_open(&self) -> String {
        match &self.token {
            Some(token) => format!("{}#token={token}", self.url),
            None => self.url.clone(),
        }
    }

    /// Prints the URL to open and gives the client the console's URL.
    pub fn announce(&self, env: &mut Vec<(String, String)>) {
        eprintln!("nppa certify: watch the exchanges live in the console: {}", self.url_to_open());
        env.push((ENV.to_owned(), self.url.clone()));
    }

    /// After the verdict: keeps the mock up until Enter or Ctrl-C, when stdin is a terminal.
    pub async fn linger(&self) {
        if !std::io::stdin().is_terminal() {
            eprintln!("nppa certify: stdin is not a terminal: the mock stops now (--console waits only for a person)");
            return;
        }
        eprintln!(
            "nppa certify: the mock and its console stay up at {}: press Enter or Ctrl-C to stop",
            self.url_to_open()
        );
        // A thread of its own, not a blocking task: the runtime would wait for it to end after a Ctrl-C.
        let (entered, enter) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = std::io::stdin().read_line(&mut line);
            let _ = entered.send(());
        });
        tokio::select! {
            _ = enter => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_carries_the_admin_token_in_its_fragment_only_to_open_it() {
        let console = Console::new("http://127.0.0.1:4000/", Some("s3cret"));
        assert_eq!(console.url_to_open(), "http://127.0.0.1:4000/__admin/console#token=s3cret");
        let mut env = Vec::new();
        console.announce(&mut env);
        assert_eq!(env, [(ENV.to_owned(), "http://127.0.0.1:4000/__admin/console".to_owned())]);
        let open = Console::new("http://127.0.0.1:4000", Some(""));
        assert_eq!(open.url_to_open(), "http://127.0.0.1:4000/__admin/console");
    }
}
