//! `bench-fake-llm`: the language model of `bench/ai-drafts`. Starts
//! `cbt_llm::test_server::FakeLlm` on a free loopback port, prints
//! `listening on http://127.0.0.1:PORT` (the API base is that + `/v1`), and
//! answers every chat completion with the benchmark's fixed note
//! (`cbt_bench_load::model_draft::answer`), streamed in `--pieces` pieces
//! `--pause-ms` apart, until it is stopped (SIGTERM or Ctrl-C).
//!
//! The pause comes before every event of the stream (the role, each piece
//! and the finish reason), as `FakeLlm` sends them, so a completion takes
//! about (pieces + 2) × pause: short, but with a time to first token and a
//! total that the app's own work can be told apart from.
//!
//! Usage: `bench-fake-llm [--pieces N] [--pause-ms N]`.

use std::process::ExitCode;
use std::time::Duration;

use cbt_bench_load::model_draft;
use cbt_llm::test_server::{FakeLlm, Reply};

const USAGE: &str = "usage: bench-fake-llm [--pieces N (default 60)] [--pause-ms N (default 5)]";

fn options() -> Result<(usize, Duration), String> {
    let mut pieces = 60;
    let mut pause_ms = 5;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next().ok_or_else(|| format!("{arg} needs a value\n{USAGE}"))?;
        let number: u64 = value.parse().map_err(|_| format!("{arg}: not a whole number: {value}\n{USAGE}"))?;
        match arg.as_str() {
            "--pieces" => pieces = number.max(1) as usize,
            "--pause-ms" => pause_ms = number,
            _ => return Err(format!("unknown option {arg}\n{USAGE}")),
        }
    }
    Ok((pieces, Duration::from_millis(pause_ms)))
}

#[tokio::main]
async fn main() -> ExitCode {
    let (pieces, pause) = match options() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("bench-fake-llm: {message}");
            return ExitCode::FAILURE;
        }
    };
    let fake = FakeLlm::start().await;
    fake.always(Reply::Answer { text: model_draft::answer(), pieces, pause });
    // The runner waits for this line: it is the only thing on stdout.
    println!("listening on {}", fake.base_url());
    eprintln!(
        "bench-fake-llm: {} pieces {} ms apart, {} characters",
        pieces,
        pause.as_millis(),
        model_draft::answer().len()
    );
    let _ = tokio::signal::ctrl_c().await;
    ExitCode::SUCCESS
}
