//! `encryption-throughput`: what sealing costs, next to raw AES-256-GCM
//! measured in the same run (bench/encryption writes its tables into
//! BENCHMARKS.md).
//!
//! Each figure is the median of `--rounds` rounds. Prints Markdown.

// A benchmark tool: a failure ends the run with its message.
#![allow(clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use cbt_encryption::blob::{BlobOpener, BlobSealer};
use cbt_encryption::{DataKey, SealedFor, field};
use uuid::Uuid;

const MIB: usize = 1024 * 1024;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Runs `op` for about `budget`, returns seconds per call.
fn per_call(budget: Duration, mut op: impl FnMut()) -> f64 {
    let start = Instant::now();
    let mut calls = 0u64;
    while start.elapsed() < budget {
        for _ in 0..64 {
            op();
        }
        calls += 64;
    }
    start.elapsed().as_secs_f64() / calls as f64
}

fn raw_key(key: &DataKey) -> LessSafeKey {
    LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key.expose_bytes()).expect("key"))
}

fn raw_seal(key: &LessSafeKey, counter: &mut u64, data: &mut Vec<u8>) {
    let mut nonce = [0u8; NONCE_LEN];
    nonce[..8].copy_from_slice(&counter.to_be_bytes());
    *counter += 1;
    key.seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), data).expect("seal");
}

struct Args {
    rounds: usize,
    seconds: f64,
    file_mib: usize,
    clients: usize,
}

fn args() -> Args {
    let mut a = Args { rounds: 5, seconds: 1.0, file_mib: 64, clients: 500 };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    for pair in argv.chunks(2) {
        let value = pair.get(1).map(String::as_str).unwrap_or_default();
        match pair[0].as_str() {
            "--rounds" => a.rounds = value.parse().expect("--rounds N"),
            "--seconds" => a.seconds = value.parse().expect("--seconds S"),
            "--file-mib" => a.file_mib = value.parse().expect("--file-mib N"),
            "--clients" => a.clients = value.parse().expect("--clients N"),
            other => panic!("unknown argument {other}"),
        }
    }
    a
}

fn main() {
    let args = args();
    let budget = Duration::from_secs_f64(args.seconds);
    let key = DataKey::generate().expect("key");
    let raw = raw_key(&key);
    let place = SealedFor { account: Uuid::now_v7(), kind: "client", field: "notes", record: Uuid::now_v7() };

    // Bulk: 1 MiB buffers raw, against a sealed file streamed in 1 MiB pushes.
    let buffer = vec![0x5au8; MIB];
    let file_bytes = args.file_mib * MIB;
    let (mut raw_mbs, mut file_seal_mbs, mut file_open_mbs) = (Vec::new(), Vec::new(), Vec::new());
    let mut counter = 0u64;
    for _ in 0..args.rounds {
        let secs = per_call(budget, || {
            let mut data = buffer.clone();
            raw_seal(&raw, &mut counter, &mut data);
            black_box(&data);
        });
        raw_mbs.push(MIB as f64 / secs / 1e6);

        // Timed as a stream would run it: each sealed piece handed on (here
        // dropped), never collected.
        let start = Instant::now();
        let mut sealer = BlobSealer::new(&key, &place).expect("sealer");
        black_box(sealer.header());
        for _ in 0..args.file_mib {
            black_box(sealer.push(&buffer).expect("push"));
        }
        black_box(sealer.finish().expect("finish"));
        file_seal_mbs.push(file_bytes as f64 / start.elapsed().as_secs_f64() / 1e6);

        let mut sealer = BlobSealer::new(&key, &place).expect("sealer");
        let mut sealed = sealer.header().to_vec();
        for _ in 0..args.file_mib {
            sealed.extend(sealer.push(&buffer).expect("push"));
        }
        sealed.extend(sealer.finish().expect("finish"));
        let start = Instant::now();
        let mut opener = BlobOpener::new(&key, &place).expect("opener");
        let mut opened = 0usize;
        for piece in sealed.chunks(MIB) {
            opened += black_box(opener.push(piece).expect("open")).len();
        }
        opened += opener.finish().expect("finish").len();
        assert_eq!(opened, file_bytes);
        file_open_mbs.push(file_bytes as f64 / start.elapsed().as_secs_f64() / 1e6);
    }
    let (raw_mbs, file_seal_mbs, file_open_mbs) = (median(raw_mbs), median(file_seal_mbs), median(file_open_mbs));
    // Raw open of a sealed 1 MiB buffer: the baseline for opening.
    let mut sealed_buffer = buffer.clone();
    let nonce_counter = counter;
    raw_seal(&raw, &mut counter, &mut sealed_buffer);
    let mut raw_open_mbs = Vec::new();
    for _ in 0..args.rounds {
        let secs = per_call(budget, || {
            let mut data = sealed_buffer.clone();
            let mut nonce = [0u8; NONCE_LEN];
            nonce[..8].copy_from_slice(&nonce_counter.to_be_bytes());
            let n = Nonce::assume_unique_for_key(nonce);
            black_box(raw.open_in_place(n, Aad::empty(), &mut data).expect("open").len());
        });
        raw_open_mbs.push(MIB as f64 / secs / 1e6);
    }
    let raw_open_mbs = median(raw_open_mbs);

    // Fields: a 200-byte value, raw against the envelope (random nonce,
    // associated data of the place, header).
    let value = vec![0x41u8; 200];
    let (mut raw_ns, mut seal_ns, mut open_ns) = (Vec::new(), Vec::new(), Vec::new());
    let sealed_value = field::seal(&key, &place, &value).expect("seal");
    for _ in 0..args.rounds {
        raw_ns.push(
            per_call(budget, || {
                let mut data = value.clone();
                raw_seal(&raw, &mut counter, &mut data);
                black_box(&data);
            }) * 1e9,
        );
        seal_ns.push(per_call(budget, || drop(black_box(field::seal(&key, &place, &value).expect("seal")))) * 1e9);
        open_ns
            .push(per_call(budget, || drop(black_box(field::open(&key, &place, &sealed_value).expect("open")))) * 1e9);
    }
    let (raw_ns, seal_ns, open_ns) = (median(raw_ns), median(seal_ns), median(open_ns));

    // A caseload: each client's name (30 bytes) and presenting problem
    // (1 KiB) sealed; a search opens all of them and looks for a substring
    // case-insensitively, as the app's list search does.
    let caseload: Vec<(Uuid, Vec<u8>, Vec<u8>)> = (0..args.clients)
        .map(|i| {
            let record = Uuid::now_v7();
            let name = format!("Client {i:05} Example-Surname");
            let problem = format!("{} panic attacks on the bus {i}", "worry about work and sleep; ".repeat(36));
            let at = |field| SealedFor { field, record, ..place };
            (
                record,
                field::seal(&key, &at("name"), name.as_bytes()).expect("seal"),
                field::seal(&key, &at("presenting_problem"), problem.as_bytes()).expect("seal"),
            )
        })
        .collect();
    let mut search_ms = Vec::new();
    for _ in 0..args.rounds {
        let start = Instant::now();
        let mut hits = 0;
        for (record, name, problem) in &caseload {
            let at = |field| SealedFor { field, record: *record, ..place };
            let name = field::open(&key, &at("name"), name).expect("open");
            let problem = field::open(&key, &at("presenting_problem"), problem).expect("open");
            let needle = "bus 42";
            if String::from_utf8_lossy(&name).to_lowercase().contains(needle)
                || String::from_utf8_lossy(&problem).to_lowercase().contains(needle)
            {
                hits += 1;
            }
        }
        black_box(hits);
        search_ms.push(start.elapsed().as_secs_f64() * 1e3);
    }
    let search_ms = median(search_ms);

    println!("### Bulk: sealed files against raw AES-256-GCM");
    println!();
    println!("| what | MB/s | ratio to raw |");
    println!("|---|---:|---:|");
    println!("| raw AES-256-GCM seal (aws-lc-rs), 1 MiB buffers | {raw_mbs:.0} | 1.00 |");
    println!(
        "| sealed file, {} MiB streamed in 1 MiB pushes: seal | {file_seal_mbs:.0} | {:.2} |",
        args.file_mib,
        file_seal_mbs / raw_mbs
    );
    println!("| raw AES-256-GCM open, 1 MiB buffers | {raw_open_mbs:.0} | 1.00 (of open) |");
    println!(
        "| sealed file: open (each plaintext piece zeroised after use) | {file_open_mbs:.0} | {:.2} (of open) |",
        file_open_mbs / raw_open_mbs
    );
    println!();
    println!("### Per field (a 200-byte value)");
    println!();
    println!("| what | ns per value | ratio to raw | bytes added |");
    println!("|---|---:|---:|---:|");
    println!("| raw AES-256-GCM seal (counter nonce, no associated data) | {raw_ns:.0} | 1.00 | 16 |");
    println!(
        "| `field::seal` (random nonce, place as associated data, envelope) | {seal_ns:.0} | {:.2} | {} |",
        seal_ns / raw_ns,
        field::OVERHEAD
    );
    println!("| `field::open` | {open_ns:.0} | {:.2} | |", open_ns / raw_ns);
    println!();
    println!("### Decrypt-and-search a caseload");
    println!();
    println!(
        "{} clients, each with a sealed name (about 30 bytes) and presenting problem (about 1 KiB): opening all {} values and searching them for a substring, case-insensitively, takes **{search_ms:.2} ms** (median of {} rounds; the data key already unwrapped and cached, as the app keeps it; reading the rows from the database is not included).",
        args.clients,
        args.clients * 2,
        args.rounds
    );
}
