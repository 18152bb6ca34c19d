//! Link options of the `tally` binary (README.md, "Performance", start-up). The binary links
//! DuckDB (tens of megabytes of C++), and as a position-independent executable it carried about
//! 77,000 relative relocations that the dynamic loader applied at every start, `tally --version`
//! included: most of the start-up time. Packed relative relocations (DT_RELR, glibc 2.36 and GNU
//! ld 2.38 or later) keep the executable position-independent (ASLR) and let the loader apply them
//! from a compact bitmap. Set `TALLY_RELR=0` to link without them (an older glibc).
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=TALLY_RELR");
    let target = std::env::var("TARGET").unwrap_or_default();
    let relr = std::env::var("TALLY_RELR").map_or(true, |v| v != "0");
    let linux_gnu = target.ends_with("-linux-gnu")
        && (target.starts_with("x86_64") || target.starts_with("aarch64"));
    if relr && linux_gnu {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}
