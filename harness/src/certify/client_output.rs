//! The client's output: shown live on certify's own stdout and stderr, as if the client had them, and its last
//! MiB of each stream kept for the JUnit file, where CI shows it beside the verdicts.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::process::Child;
use tokio::sync::Notify;

/// How much of each stream is kept: the end of a long log says most about how the client ended.
pub const KEPT_BYTES: usize = 1 << 20;

/// How long the output may still flow once the client has exited or was stopped: a process the client started
/// in the background may hold its pipes open for ever, and certify must not wait for it.
const AFTER_EXIT: Duration = Duration::from_secs(2);

/// The tail of one stream.
#[derive(Debug, Clone, Default)]
pub struct Kept {
    bytes: Vec<u8>,
    /// Everything the stream carried, kept or not.
    total: u64,
}

impl Kept {
    pub fn push(&mut self, bytes: &[u8]) {
        self.total += bytes.len() as u64;
        self.bytes.extend_from_slice(bytes);
        // Trimmed in steps of at least KEPT_BYTES, so that a chatty client does not move the buffer on every read.
        if self.bytes.len() > 2 * KEPT_BYTES {
            let excess = self.bytes.len() - KEPT_BYTES;
            self.bytes.drain(..excess);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// The kept text, saying first how much was cut when the stream carried more than [`KEPT_BYTES`].
    pub fn text(&self) -> String {
        let start = self.bytes.len().saturating_sub(KEPT_BYTES);
        let tail = String::from_utf8_lossy(&self.bytes[start..]);
        let cut = self.total - (self.bytes.len() - start) as u64;
        match cut {
            0 => tail.into_owned(),
            _ => format!("[… the first {cut} bytes were cut: the last {KEPT_BYTES} bytes follow]\n{tail}"),
        }
    }
}

/// What the client wrote, over every run.
#[derive(Debug, Clone, Default)]
pub struct ClientOutput {
    pub stdout: Kept,
    pub stderr: Kept,
    /// Keep the output without showing it (the many runs of shrinking).
    pub quiet: bool,
}

impl ClientOutput {
    /// Marks where a run starts in both streams, when there are several.
    pub fn run_starts(&mut self, run: u32) {
        let line = format!("── nppa certify: run {run} ──\n");
        self.stdout.push(line.as_bytes());
        self.stderr.push(line.as_bytes());
    }

    /// Waits for the client (its stdout and stderr piped) until `limit`, copying its output to ours and keeping it.
    /// `Err(())` when the client ran past the limit: it is then killed.
    pub async fn wait_for(&mut self, child: &mut Child, limit: Duration) -> Result<std::process::ExitStatus, ()> {
        let (stdout, stderr) = (child.stdout.take(), child.stderr.take());
        let shown = !self.quiet;
        let (kept_out, kept_err) = (&mut self.stdout, &mut self.stderr);
        let exited = Notify::new();
        let copy = async {
            let both = async {
                tokio::join!(
                    tee(stdout, shown.then(tokio::io::stdout), kept_out),
                    tee(stderr, shown.then(tokio::io::stderr), kept_err)
                )
            };
            let grace = async {
                exited.notified().await;
                tokio::time::sleep(AFTER_EXIT).await;
            };
            tokio::select! {
                _ = both => {}
                () = grace => {}
            }
        };
        let wait = async {
            let status = match tokio::time::timeout(limit, child.wait()).await {
                Ok(Ok(status)) => Ok(status),
                // Waiting itself failed (it does not on Unix): as good as no exit code.
                Ok(Err(_)) | Err(_) => {
                    let _ = child.kill().await;
                    Err(())
                }
            };
            // A permit is stored if `grace` is not waiting yet.
            exited.notify_one();
            status
        };
        let (status, ()) = tokio::join!(wait, copy);
        status
    }
}

/// Copies `from` to `to` until the end, keeping what passes.
async fn tee(from: Option<impl AsyncRead + Unpin>, mut to: Option<impl AsyncWrite + Unpin>, kept: &mut Kept) {
    let Some(mut from) = from else { return };
    let mut buffer = vec![0; 16 * 1024];
    loop {
        match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                kept.push(&buffer[..n]);
                // Our own terminal gone (a closed pipe) must not stop the client or the capture.
                if let Some(to) = to.as_mut() {
                    let _ = to.write_all(&buffer[..n]).await;
                    let _ = to.flush().await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_stream_keeps_its_last_mib_and_says_how_much_was_cut() {
        let mut kept = Kept::default();
        let line = [b'x'; 1000];
        for _ in 0..3000 {
            kept.push(&line);
        }
        kept.push(b"the end\n");
        let text = kept.text();
        assert!(
            text.starts_with(&format!("[… the first {} bytes were cut", 3_000_008 - KEPT_BYTES)),
            "{}",
            &text[..80]
        );
        assert!(text.ends_with("xthe end\n"));
        assert_eq!(text.split_once('\n').map(|(_, rest)| rest.len()), Some(KEPT_BYTES));
        let mut short = Kept::default();
        short.push("答 ok\n".as_bytes());
        assert_eq!(short.text(), "答 ok\n");
    }
}
