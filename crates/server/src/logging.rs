//! Logging with PHI redaction.
//!
//! Every log line goes through [`RedactingFormat`]: fields whose names say
//! they may hold PHI or credentials are replaced with `[redacted]` whatever
//! their value, PHI wrapper types print `[redacted]` by themselves, and
//! control characters in any value are escaped, so a value cannot forge a
//! second log line. Span fields are not written at all. Lines are JSON in
//! production and readable text locally.

use std::fmt;

use cbt_domain::phi::REDACTED;
use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// Name fragments of fields that may carry PHI, personal data or secrets.
/// A field whose lower-cased name contains one is never written.
pub const SENSITIVE_FIELD_FRAGMENTS: &[&str] = &[
    "name",
    "dob",
    "birth",
    "email",
    "phone",
    "address",
    "contact",
    "diagnos",
    "icd",
    "medication",
    "note",
    "transcript",
    "ssn",
    "social_security",
    "text",
    "body",
    "content",
    "query",
    "search",
    "password",
    "token",
    "secret",
    "key",
    "cookie",
    "formulation",
    "hypothes",
    "risk",
    "problem",
    "comment",
    "description",
    "answer",
    "message_body",
    "prompt",
    "completion",
];

fn is_sensitive(field: &str) -> bool {
    let lower = field.to_ascii_lowercase();
    SENSITIVE_FIELD_FRAGMENTS.iter().any(|f| lower.contains(f))
}

/// Escapes control characters (`\r`, `\n`, ANSI escapes) as `\u{..}`.
pub fn neutralise(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

#[derive(Default)]
struct Fields {
    message: Option<String>,
    fields: Vec<(&'static str, Value)>,
}

impl Fields {
    fn push(&mut self, field: &Field, value: Value) {
        if field.name() == "message" {
            self.message = Some(match value {
                Value::String(s) => neutralise(&s),
                other => other.to_string(),
            });
        } else if is_sensitive(field.name()) {
            self.fields.push((field.name(), Value::String(REDACTED.into())));
        } else {
            let value = match value {
                Value::String(s) => Value::String(neutralise(&s)),
                other => other,
            };
            self.fields.push((field.name(), value));
        }
    }
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.push(field, Value::String(format!("{value:?}")));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.push(field, Value::String(value.to_owned()));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.push(field, Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.push(field, Value::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.push(field, Value::from(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.push(field, Value::from(value));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.push(field, Value::String(value.to_string()));
    }
}

/// The event formatter. `json` picks the output shape.
pub struct RedactingFormat {
    pub json: bool,
}

impl<S, N> FormatEvent<S, N> for RedactingFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(&self, _ctx: &FmtContext<'_, S, N>, mut writer: Writer<'_>, event: &Event<'_>) -> fmt::Result {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let meta = event.metadata();
        let now = time::OffsetDateTime::now_utc();
        let timestamp = now.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
        if self.json {
            let mut line = Map::new();
            line.insert("time".into(), Value::String(timestamp));
            line.insert("level".into(), Value::String(meta.level().to_string()));
            line.insert("target".into(), Value::String(meta.target().to_owned()));
            if let Some(m) = fields.message {
                line.insert("message".into(), Value::String(m));
            }
            for (k, v) in fields.fields {
                line.insert(k.to_owned(), v);
            }
            writeln!(writer, "{}", Value::Object(line))
        } else {
            write!(
                writer,
                "{timestamp} {:>5} {}: {}",
                meta.level(),
                meta.target(),
                fields.message.unwrap_or_default()
            )?;
            for (k, v) in fields.fields {
                match v {
                    Value::String(s) => write!(writer, " {k}={s}")?,
                    other => write!(writer, " {k}={other}")?,
                }
            }
            writeln!(writer)
        }
    }
}

/// Installs the global subscriber (stdout). Call once, at start-up.
pub fn init(json: bool, filter: &str) -> Result<(), String> {
    let filter = EnvFilter::try_new(filter).map_err(|e| format!("CBT_LOG_LEVEL: {e}"))?;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .event_format(RedactingFormat { json })
        .with_writer(std::io::stdout)
        .try_init()
        .map_err(|e| format!("logging: {e}"))?;
    // A panic message may quote any value: log where, never what.
    std::panic::set_hook(Box::new(|info| {
        let location = info.location().map(|l| format!("{}:{}", l.file(), l.line())).unwrap_or_default();
        tracing::error!(location, "panic (message withheld: it may contain data)");
    }));
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use cbt_domain::Phi;
    use tracing_subscriber::fmt::MakeWriter;

    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Capture {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().map_err(|_| std::io::Error::other("poisoned"))?.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Capture {
        type Writer = Capture;
        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    fn capture(json: bool, emit: impl FnOnce()) -> String {
        let sink = Capture::default();
        let subscriber =
            tracing_subscriber::fmt().event_format(RedactingFormat { json }).with_writer(sink.clone()).finish();
        tracing::subscriber::with_default(subscriber, emit);
        let bytes = sink.0.lock().map(|b| b.clone()).unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    const CANARY: &str = "CANARY-Jane-Doe-1984";

    fn emit_phi() {
        tracing::info!(client_name = CANARY, date_of_birth = CANARY, email = CANARY, diagnosis = CANARY, "saved");
        tracing::info!(session_note = %CANARY, medication = ?CANARY, transcript = CANARY, ssn = CANARY, "saved");
        tracing::warn!(value = %Phi::new(CANARY.to_owned()), request_id = "r-1", "wrapped");
    }

    #[test]
    fn checklist_31_phi_fields_never_reach_text_logs() {
        let out = capture(false, emit_phi);
        assert!(!out.contains(CANARY), "{out}");
        assert!(out.contains("client_name=[redacted]"), "{out}");
        assert!(out.contains("request_id=r-1"), "{out}");
    }

    #[test]
    fn checklist_31_phi_fields_never_reach_json_logs() {
        let out = capture(true, emit_phi);
        assert!(!out.contains(CANARY), "{out}");
        for line in out.lines() {
            let v: Value = serde_json::from_str(line).unwrap_or(Value::Null);
            assert!(v.get("level").is_some(), "not a JSON line: {line}");
        }
    }

    #[test]
    fn checklist_31_log_injection_is_neutralised() {
        let forged = "ok\r\n2026-01-01T00:00:00Z  INFO cbt: forged line";
        let out = capture(false, || tracing::info!(path = forged, "request"));
        assert_eq!(out.lines().count(), 1, "{out}");
        assert!(out.contains("ok\\r\\n2026"), "{out}");
    }
}
