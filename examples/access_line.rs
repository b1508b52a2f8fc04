//! What one access line costs, on its own: the CPU time of the whole process (the
//! request's thread formatting and queuing the line, the writer thread gathering and
//! writing it to a file) per line, at a request rate a loaded proxy sees. `dev/bench`
//! runs it next to the log-on-minus-log-off figure of its loads, which the shared
//! machine's noise (several µs per request between runs) can hide a 1–2 µs cost in.
//!
//!     cargo run --release --example access_line -- [LINES] [PER_SECOND]
//!
//! Prints one line: `access line: <µs> µs CPU per line (<lines> lines at <rate>/s, …)`.

use std::fmt::Write as _;
use std::hint::black_box;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use prometheus_client::metrics::counter::Counter;
use ssec_proxy::access_log::{AccessLine, AccessLog, QUEUE_LINES};
use ssec_proxy::config::LogFormat;

/// Lines written between pauses; the pause keeps the rate at `per_second`.
const BURST: u64 = 500;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let lines: u64 = args.next().map_or(Ok(200_000), |a| a.parse())?;
    let per_second: u64 = args.next().map_or(Ok(50_000), |a| a.parse())?;
    let path = std::env::temp_dir().join(format!("ssec-access-line-{}.log", std::process::id()));
    let file = std::fs::File::create(&path)?;
    let dropped = Counter::default();
    let log = AccessLog::start(
        Box::new(file),
        LogFormat::Json,
        QUEUE_LINES,
        dropped.clone(),
    )?;
    let client = "127.0.0.1:59514".parse().ok();
    // The same paced loop twice: once building each line and throwing it away, once
    // writing it. The difference is the line's cost.
    let base = paced(lines, per_second, |i, id| {
        black_box(line(i, id, client));
    });
    let logged = paced(lines, per_second, |i, id| log.write(&line(i, id, client)));
    let flushed = log.flush(Duration::from_secs(10));
    let written = std::fs::read(&path)?
        .iter()
        .filter(|&&b| b == b'\n')
        .count();
    std::fs::remove_file(&path)?;
    let per_line_us = (logged.as_secs_f64() - base.as_secs_f64()) / lines as f64 * 1e6;
    println!(
        "access line: {per_line_us:.2} µs CPU per line ({lines} lines at {per_second}/s to a file; \
         {written} written, {} dropped, flushed: {flushed})",
        dropped.get()
    );
    Ok(())
}

/// A GET's line, its figures varied a little.
fn line(i: u64, id: &str, client: Option<SocketAddr>) -> AccessLine<'_> {
    AccessLine {
        request_id: id,
        op: "GetObject",
        bucket: "bench-bucket",
        status: 200,
        bytes_in: 0,
        bytes_out: 1024 + (i & 7),
        proxy: Duration::from_nanos(21_000 + i % 977),
        store: Duration::from_nanos(1_150_000 + i % 9_973),
        total: Duration::from_nanos(1_171_000 + i % 9_973),
        outcome: "ok",
        error: "",
        client,
    }
}

/// Runs `f` for `lines` lines at `per_second`; the process's CPU time it took, the
/// writer thread's included (a flush at the end is not: the writer drains every 20 ms
/// whether lines come or not).
fn paced(lines: u64, per_second: u64, mut f: impl FnMut(u64, &str)) -> Duration {
    let start = Instant::now();
    let cpu = process_cpu();
    let mut id = String::with_capacity(16);
    let mut i = 0;
    while i < lines {
        for _ in 0..BURST.min(lines - i) {
            id.clear();
            let _ = write!(id, "{:016X}", i.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            f(i, &id);
            i += 1;
        }
        let due = start + Duration::from_secs_f64(i as f64 / per_second as f64);
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
    }
    // One drain period more, so the writer's share of the last burst is counted.
    std::thread::sleep(Duration::from_millis(40));
    process_cpu().saturating_sub(cpu)
}

/// CPU time of every thread of this process (`/proc/self/task/*/schedstat`, whose first
/// field is nanoseconds on a CPU).
fn process_cpu() -> Duration {
    let mut nanos = 0u64;
    if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
        for task in tasks.flatten() {
            let stat = std::fs::read_to_string(task.path().join("schedstat")).unwrap_or_default();
            nanos += stat
                .split_whitespace()
                .next()
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    Duration::from_nanos(nanos)
}
