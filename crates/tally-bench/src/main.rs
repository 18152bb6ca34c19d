//! tally's benchmark binary (work in progress).
fn main() {
    println!("tally-bench: no benchmarks yet");
}
