use super::*;

fn gen(conversations: usize, seed: u64) -> (Connection, SampleSummary) {
    let conn = Connection::open_in_memory().unwrap();
    let opts = SampleOptions {
        conversations,
        seed,
        schema: "intercom".into(),
        progress: false,
    };
    let summary = generate_intercom(&conn, &opts).unwrap();
    (conn, summary)
}

#[test]
fn sample_smoke() {
    let (_c, s) = gen(1000, 1);
    eprintln!("{s:?}");
}

#[test]
fn sample_timing_tmp() {
    let n: usize = std::env::var("TALLY_TMP_N").ok().and_then(|v| v.parse().ok()).unwrap_or(0);
    if n == 0 {
        return;
    }
    let path = "/tmp/tally_sample_timing.duckdb";
    let _ = std::fs::remove_file(path);
    let _ = std::fs::remove_file(format!("{path}.wal"));
    let conn = if std::env::var("TALLY_TMP_MEM").is_ok() { Connection::open_in_memory().unwrap() } else { Connection::open(path).unwrap() };
    let t = std::time::Instant::now();
    let s = generate_intercom(&conn, &SampleOptions { conversations: n, seed: 7, schema: "intercom".into(), progress: true }).unwrap();
    eprintln!("{n} conversations in {:?}: {s:?}", t.elapsed());
}
