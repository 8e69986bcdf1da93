//! An in-process SMTP server for tests: it accepts every message and
//! records it. Cargo feature `test-server`; never in production builds.
//!
//! It speaks the RFC 5321 subset an SMTP client needs to deliver without
//! TLS or authentication: the 220 greeting, EHLO/HELO (advertising only
//! `8BITMIME` and `SIZE`), MAIL FROM, RCPT TO, DATA (dot-unstuffed up to
//! `<CRLF>.<CRLF>`), RSET, NOOP, QUIT. Known commands it does not implement
//! (VRFY, AUTH, STARTTLS, …) get 502, anything else 500.
//!
//! ```no_run
//! # async fn example() {
//! use std::time::Duration;
//! use cbt_mail::test_server::SmtpCapture;
//!
//! let smtp = SmtpCapture::start().await;
//! // Point an `SmtpMailer` at host 127.0.0.1, port `smtp.port()`,
//! // security `SmtpSecurity::Plain`, and let the app send.
//! let mails = smtp.wait_for(1, Duration::from_secs(5)).await;
//! let link = mails.first().and_then(|m| m.find_link("http://127.0.0.1:"));
//! # }
//! ```

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use base64::Engine as _;
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Largest message accepted (advertised as `SIZE`).
const MAX_MESSAGE: usize = 10 * 1024 * 1024;
/// Longest command line accepted (RFC 5321 allows 512 octets; be lenient).
const MAX_LINE: u64 = 4096;
/// Longest text line inside DATA (RFC 5321: 1000 octets with CRLF).
const MAX_DATA_LINE: u64 = 64 * 1024;

/// One message as the server received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CapturedMail {
    /// The MAIL FROM address, without angle brackets (empty for `<>`).
    pub from: String,
    /// The RCPT TO addresses, without angle brackets, in order.
    pub recipients: Vec<String>,
    /// The DATA content after dot-unstuffing, every line ending in CRLF,
    /// without the terminating `.` line.
    pub data: String,
}

impl CapturedMail {
    /// The first header field called `name` (any case), unfolded, not
    /// decoded.
    pub fn header(&self, name: &str) -> Option<String> {
        let (head, _) = split_message(&self.data);
        let mut found: Option<String> = None;
        for line in head.split("\r\n") {
            if line.starts_with([' ', '\t']) {
                if let Some(value) = found.as_mut() {
                    value.push_str(line);
                }
                continue;
            }
            if found.is_some() {
                break;
            }
            if let Some((field, value)) = line.split_once(':')
                && field.trim().eq_ignore_ascii_case(name)
            {
                found = Some(value.trim_start().to_owned());
            }
        }
        found.map(|v| v.trim_end().to_owned())
    }

    /// The `Subject`, with RFC 2047 encoded words (`=?utf-8?b?…?=`,
    /// `=?utf-8?q?…?=`) decoded.
    pub fn subject(&self) -> Option<String> {
        self.header("Subject").map(|v| decode_rfc2047(&v))
    }

    /// The body as text: the `Content-Transfer-Encoding` (7bit, 8bit,
    /// quoted-printable, base64) undone, read as UTF-8, line endings turned
    /// back into `\n`, trailing line breaks removed. For a single-part
    /// message such as the mailers send.
    pub fn body_text(&self) -> String {
        let (_, body) = split_message(&self.data);
        let encoding = self.header("Content-Transfer-Encoding").unwrap_or_default().to_ascii_lowercase();
        let bytes = match encoding.trim() {
            "quoted-printable" => quoted_printable::decode(body.as_bytes(), quoted_printable::ParseMode::Robust)
                .unwrap_or_else(|_| body.as_bytes().to_vec()),
            "base64" => {
                let compact: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
                base64::engine::general_purpose::STANDARD
                    .decode(compact.as_bytes())
                    .unwrap_or_else(|_| body.as_bytes().to_vec())
            }
            _ => body.as_bytes().to_vec(),
        };
        let text = String::from_utf8_lossy(&bytes).replace("\r\n", "\n");
        // The message format and the DATA framing add line breaks at the
        // end that were not in the text.
        text.trim_end_matches('\n').to_owned()
    }

    /// The first URL in the decoded body that starts with `prefix`, up to
    /// the next whitespace or `<`, `>`, `"`, `'`, without trailing `.`,
    /// `,`, `;`, `:`, `!`, `?` or `)`.
    pub fn find_link(&self, prefix: &str) -> Option<String> {
        let body = self.body_text();
        let start = body.find(prefix)?;
        let rest = &body[start..];
        let end = rest.find(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"' | '\'')).unwrap_or(rest.len());
        let link = rest[..end].trim_end_matches(['.', ',', ';', ':', '!', '?', ')']);
        (link.len() >= prefix.len()).then(|| link.to_owned())
    }
}

/// Headers and body, split at the first empty line.
fn split_message(data: &str) -> (&str, &str) {
    if let Some(body) = data.strip_prefix("\r\n") {
        return ("", body);
    }
    data.split_once("\r\n\r\n").unwrap_or((data, ""))
}

/// Decodes RFC 2047 encoded words; whitespace between two adjacent encoded
/// words is dropped, as the RFC says. Bytes of adjacent words are joined
/// before reading them as UTF-8, so a character split across words
/// survives.
fn decode_rfc2047(value: &str) -> String {
    let mut out = String::new();
    let mut pending: Vec<u8> = Vec::new();
    let mut gap = String::new();
    let mut rest = value;
    while !rest.is_empty() {
        if let Some((decoded, used)) = encoded_word(rest) {
            gap.clear();
            pending.extend_from_slice(&decoded);
            rest = &rest[used..];
            continue;
        }
        let c = rest.chars().next().unwrap_or(' ');
        let n = c.len_utf8();
        if c == ' ' || c == '\t' {
            if pending.is_empty() {
                out.push(c);
            } else {
                gap.push(c);
            }
        } else {
            if !pending.is_empty() {
                out.push_str(&String::from_utf8_lossy(&pending));
                pending.clear();
            }
            out.push_str(&gap);
            gap.clear();
            out.push(c);
        }
        rest = &rest[n..];
    }
    out.push_str(&String::from_utf8_lossy(&pending));
    out.push_str(&gap);
    out
}

/// `=?charset?b|q?text?=` at the start of `s`: the decoded bytes and the
/// length consumed. The charset is taken to be UTF-8 (or ASCII).
fn encoded_word(s: &str) -> Option<(Vec<u8>, usize)> {
    let inner = s.strip_prefix("=?")?;
    let (_charset, after) = inner.split_once('?')?;
    let (encoding, after) = after.split_once('?')?;
    let end = after.find("?=")?;
    let text = &after[..end];
    if text.contains([' ', '\t', '\r', '\n']) {
        return None;
    }
    let used = s.len() - after.len() + end + 2;
    let decoded = match encoding {
        "b" | "B" => base64::engine::general_purpose::STANDARD.decode(text).ok()?,
        "q" | "Q" => {
            let underscores = text.replace('_', " ");
            quoted_printable::decode(underscores.as_bytes(), quoted_printable::ParseMode::Robust).ok()?
        }
        _ => return None,
    };
    Some((decoded, used))
}

#[derive(Default)]
struct Shared {
    mails: Mutex<Vec<CapturedMail>>,
}

/// A running capture server on `127.0.0.1`. Stops when dropped.
pub struct SmtpCapture {
    port: u16,
    shared: Arc<Shared>,
    count: watch::Receiver<usize>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for SmtpCapture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpCapture").field("port", &self.port).finish_non_exhaustive()
    }
}

impl SmtpCapture {
    /// Listens on `127.0.0.1:0`. Fails only if no port can be bound, which
    /// in a test is fatal anyway: prefer [`try_start`](Self::try_start) to
    /// handle it.
    #[allow(clippy::panic, reason = "a test helper: failing to bind ends the test with a clear message")]
    pub async fn start() -> Self {
        match Self::try_start().await {
            Ok(server) => server,
            Err(e) => panic!("the SMTP capture server could not listen on 127.0.0.1: {e}"),
        }
    }

    /// Listens on `127.0.0.1:0`.
    pub async fn try_start() -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let port = listener.local_addr()?.port();
        let shared = Arc::new(Shared::default());
        let (count_tx, count) = watch::channel(0usize);
        let count_tx = Arc::new(count_tx);
        let task_shared = Arc::clone(&shared);
        let task = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    // Out of file descriptors or similar: do not spin.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                let shared = Arc::clone(&task_shared);
                let count_tx = Arc::clone(&count_tx);
                connections.spawn(async move {
                    // A client that goes away mid-session is not our concern.
                    let _ = serve(stream, &shared, &count_tx).await;
                });
                while connections.try_join_next().is_some() {}
            }
        });
        Ok(Self { port, shared, count, task })
    }

    /// The port it listens on (host `127.0.0.1`).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Every message received so far, oldest first.
    pub fn messages(&self) -> Vec<CapturedMail> {
        self.shared.mails.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Waits until at least `n` messages have arrived or `timeout` has
    /// passed, and returns the messages received by then (check the
    /// length: it is shorter than `n` after a timeout).
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<CapturedMail> {
        let mut count = self.count.clone();
        let _ = tokio::time::timeout(timeout, count.wait_for(|c| *c >= n)).await;
        self.messages()
    }
}

impl Drop for SmtpCapture {
    fn drop(&mut self) {
        // Dropping the accept loop drops its JoinSet, which aborts the
        // sessions still open.
        self.task.abort();
    }
}

#[derive(Default)]
struct Transaction {
    from: Option<String>,
    recipients: Vec<String>,
}

/// One SMTP session.
async fn serve(stream: TcpStream, shared: &Shared, count: &watch::Sender<usize>) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    write.write_all(b"220 127.0.0.1 ESMTP cbt-mail capture server ready\r\n").await?;
    let mut greeted = false;
    let mut tx = Transaction::default();
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = (&mut reader).take(MAX_LINE).read_until(b'\n', &mut line).await?;
        if n == 0 {
            return Ok(());
        }
        if line.last() != Some(&b'\n') {
            write.write_all(b"500 5.5.2 line too long\r\n").await?;
            return Ok(());
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\r', '\n']);
        let (verb, arg) = text.split_once(' ').unwrap_or((text, ""));
        let arg = arg.trim();
        let reply: &[u8] = match verb.to_ascii_uppercase().as_str() {
            "EHLO" if arg.is_empty() => b"501 5.5.4 EHLO needs a domain\r\n",
            "EHLO" => {
                greeted = true;
                tx = Transaction::default();
                let reply = format!("250-127.0.0.1 greets {arg}\r\n250-8BITMIME\r\n250 SIZE {MAX_MESSAGE}\r\n");
                write.write_all(reply.as_bytes()).await?;
                continue;
            }
            "HELO" if arg.is_empty() => b"501 5.5.4 HELO needs a domain\r\n",
            "HELO" => {
                greeted = true;
                tx = Transaction::default();
                b"250 127.0.0.1\r\n"
            }
            "MAIL" if !greeted => b"503 5.5.1 say EHLO first\r\n",
            "MAIL" if tx.from.is_some() => b"503 5.5.1 nested MAIL command\r\n",
            "MAIL" => match path_argument(arg, "FROM:") {
                Some(address) => {
                    tx.from = Some(address);
                    b"250 2.1.0 OK\r\n"
                }
                None => b"501 5.5.4 syntax: MAIL FROM:<address>\r\n",
            },
            "RCPT" if tx.from.is_none() => b"503 5.5.1 need MAIL first\r\n",
            "RCPT" => match path_argument(arg, "TO:") {
                Some(address) if !address.is_empty() => {
                    tx.recipients.push(address);
                    b"250 2.1.5 OK\r\n"
                }
                _ => b"501 5.5.4 syntax: RCPT TO:<address>\r\n",
            },
            "DATA" if !arg.is_empty() => b"501 5.5.4 DATA takes no argument\r\n",
            "DATA" if tx.recipients.is_empty() => b"503 5.5.1 need RCPT first\r\n",
            "DATA" => {
                write.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n").await?;
                let Some(data) = read_data(&mut reader).await? else {
                    write.write_all(b"552 5.3.4 message too big\r\n").await?;
                    tx = Transaction::default();
                    continue;
                };
                let tx_done = std::mem::take(&mut tx);
                let mail =
                    CapturedMail { from: tx_done.from.unwrap_or_default(), recipients: tx_done.recipients, data };
                let total = {
                    let mut mails = shared.mails.lock().unwrap_or_else(PoisonError::into_inner);
                    mails.push(mail);
                    mails.len()
                };
                count.send_replace(total);
                let reply = format!("250 2.0.0 OK queued as {total}\r\n");
                write.write_all(reply.as_bytes()).await?;
                continue;
            }
            "RSET" => {
                tx = Transaction::default();
                b"250 2.0.0 OK\r\n"
            }
            "NOOP" => b"250 2.0.0 OK\r\n",
            "QUIT" => {
                write.write_all(b"221 2.0.0 bye\r\n").await?;
                write.shutdown().await?;
                return Ok(());
            }
            "VRFY" | "EXPN" | "HELP" | "TURN" | "ETRN" | "BDAT" | "AUTH" | "STARTTLS" | "SEND" | "SOML" | "SAML" => {
                b"502 5.5.1 command not implemented\r\n"
            }
            _ => b"500 5.5.2 command not recognised\r\n",
        };
        write.write_all(reply).await?;
    }
}

/// `FROM:<a@b> PARAM=…` → `a@b` (`prefix` is `FROM:` or `TO:`, any case,
/// with optional spaces after the colon).
fn path_argument(arg: &str, prefix: &str) -> Option<String> {
    let head = arg.get(..prefix.len())?;
    if !head.eq_ignore_ascii_case(prefix) {
        return None;
    }
    let rest = arg[prefix.len()..].trim_start();
    let inner = rest.strip_prefix('<')?;
    let end = inner.find('>')?;
    Some(inner[..end].to_owned())
}

/// Reads DATA lines up to the lone `.` line, undoing dot-stuffing. `None`
/// if the message exceeds [`MAX_MESSAGE`] (the rest is read and dropped).
async fn read_data<R: tokio::io::AsyncBufRead + Unpin>(reader: &mut R) -> std::io::Result<Option<String>> {
    let mut data: Vec<u8> = Vec::new();
    let mut too_big = false;
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = (&mut *reader).take(MAX_DATA_LINE).read_until(b'\n', &mut line).await?;
        if n == 0 {
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "connection closed in DATA"));
        }
        if line == b".\r\n" || line == b".\n" {
            break;
        }
        let content = if line.starts_with(b".") { &line[1..] } else { &line[..] };
        if data.len() + content.len() > MAX_MESSAGE {
            too_big = true;
        }
        if !too_big {
            data.extend_from_slice(content);
        }
    }
    Ok((!too_big).then(|| String::from_utf8_lossy(&data).into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail(data: &str) -> CapturedMail {
        CapturedMail { from: String::new(), recipients: Vec::new(), data: data.to_owned() }
    }

    #[test]
    fn headers_unfold_and_subjects_decode() {
        let m = mail(
            "Subject: =?utf-8?b?0KLQtdC80LAg0YHQvtC+0LHRidC10L3QuNGP?=\r\n =?utf-8?b?IMOc?= plain\r\nX-Other: 1\r\n\r\nbody\r\n",
        );
        assert_eq!(m.subject().as_deref(), Some("Тема сообщения Ü plain"));
        assert_eq!(m.header("x-other").as_deref(), Some("1"));
        assert_eq!(m.header("Missing"), None);
        let q = mail("Subject: =?UTF-8?Q?caf=C3=A9_au_lait?= ok\r\n\r\n");
        assert_eq!(q.subject().as_deref(), Some("café au lait ok"));
    }

    #[test]
    fn bodies_decode() {
        let qp =
            mail("Content-Transfer-Encoding: quoted-printable\r\n\r\nSch=C3=B6n https://x.example/a=\r\nbc?t=3D1\r\n");
        assert_eq!(qp.body_text(), "Schön https://x.example/abc?t=1");
        assert_eq!(qp.find_link("https://x.example/").as_deref(), Some("https://x.example/abc?t=1"));
        let b64 = mail("Content-Transfer-Encoding: base64\r\n\r\n0J/RgNC40LLQtdGC\r\n");
        assert_eq!(b64.body_text(), "Привет");
        let plain = mail("Content-Transfer-Encoding: 7bit\r\n\r\nSee <https://x.example/p>.\r\n");
        assert_eq!(plain.find_link("https://x.example/").as_deref(), Some("https://x.example/p"));
        assert_eq!(plain.find_link("https://y.example/"), None);
    }

    #[test]
    fn path_arguments() {
        assert_eq!(path_argument("FROM:<a@b.example> BODY=8BITMIME", "FROM:").as_deref(), Some("a@b.example"));
        assert_eq!(path_argument("from: <>", "FROM:").as_deref(), Some(""));
        assert_eq!(path_argument("TO:a@b", "TO:"), None);
        assert_eq!(path_argument("FROM:<a@b>", "TO:"), None);
    }

    /// Talks raw SMTP to the server, as a client that stuffs dots would.
    #[tokio::test]
    async fn speaks_smtp() {
        let server = SmtpCapture::start().await;
        let stream = TcpStream::connect(("127.0.0.1", server.port())).await.unwrap();
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read).lines();
        let mut expect = async |code: &str| {
            loop {
                let line = lines.next_line().await.unwrap().unwrap();
                assert!(line.starts_with(code), "expected {code}, got {line}");
                if line.as_bytes().get(3) != Some(&b'-') {
                    return;
                }
            }
        };
        expect("220").await;
        write.write_all(b"MAIL FROM:<a@example.org>\r\n").await.unwrap();
        expect("503").await;
        write.write_all(b"EHLO client.example\r\n").await.unwrap();
        expect("250").await;
        write.write_all(b"NOOP\r\n").await.unwrap();
        expect("250").await;
        write.write_all(b"VRFY bob\r\n").await.unwrap();
        expect("502").await;
        write.write_all(b"FROB\r\n").await.unwrap();
        expect("500").await;
        write.write_all(b"DATA\r\n").await.unwrap();
        expect("503").await;
        write.write_all(b"MAIL FROM:<dropped@example.org>\r\n").await.unwrap();
        expect("250").await;
        write.write_all(b"RSET\r\n").await.unwrap();
        expect("250").await;
        write.write_all(b"MAIL FROM:<a@example.org>\r\n").await.unwrap();
        expect("250").await;
        write.write_all(b"RCPT TO:<b@example.org>\r\n").await.unwrap();
        expect("250").await;
        write.write_all(b"RCPT TO:<c@example.org>\r\n").await.unwrap();
        expect("250").await;
        write.write_all(b"DATA\r\n").await.unwrap();
        expect("354").await;
        write.write_all(b"Subject: dots\r\n\r\n..leading dot\r\n.\r\n").await.unwrap();
        expect("250").await;
        write.write_all(b"QUIT\r\n").await.unwrap();
        expect("221").await;

        let mails = server.wait_for(1, Duration::from_secs(5)).await;
        assert_eq!(mails.len(), 1);
        assert_eq!(mails[0].from, "a@example.org");
        assert_eq!(mails[0].recipients, ["b@example.org", "c@example.org"]);
        assert_eq!(mails[0].data, "Subject: dots\r\n\r\n.leading dot\r\n");
        assert_eq!(mails[0].body_text(), ".leading dot");
    }

    #[tokio::test]
    async fn wait_for_returns_what_arrived_after_the_timeout() {
        let server = SmtpCapture::start().await;
        assert!(server.wait_for(1, Duration::from_millis(50)).await.is_empty());
        assert!(server.wait_for(0, Duration::from_millis(50)).await.is_empty());
    }
}
