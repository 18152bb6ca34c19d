//! Link options of the binaries (README.md, "Performance", start-up).
//!
//! `tally-engine` links DuckDB (tens of megabytes of C++), and as a position-independent
//! executable it carried about 77,000 relative relocations that the dynamic loader applied at
//! every start: most of its start-up time. Packed relative relocations (DT_RELR, glibc 2.36 and
//! GNU ld 2.38 or later) keep the executable position-independent (ASLR) and let the loader apply
//! them from a compact bitmap. Set `TALLY_RELR=0` to link without them (an older glibc).
//!
//! `tally`, the lean binary (no DuckDB, no C++), is linked as a position-dependent executable:
//! the loader then writes none of the pointers of its 350 KB of `.data.rel.ro` at start (about 90
//! copy-on-write page faults of every run, a tenth of a warm `tally sql`). The trade is the
//! executable's own address randomisation (libraries, heap, stack and mappings stay randomised);
//! ARCHITECTURE.md ("Where we chose differently") says why it is taken for this binary and not
//! for `tally-engine`. Set `TALLY_PIE=1` to link `tally` position-independent as well.
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=TALLY_RELR");
    println!("cargo:rerun-if-env-changed=TALLY_PIE");
    let target = std::env::var("TARGET").unwrap_or_default();
    let on = |var: &str, default: bool| std::env::var(var).map_or(default, |v| v != "0");
    let linux_gnu = target.ends_with("-linux-gnu")
        && (target.starts_with("x86_64") || target.starts_with("aarch64"));
    if on("TALLY_RELR", true) && linux_gnu {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
    // The code of every crate is compiled position-independent either way; `-no-pie` (after
    // rustc's own `-pie` on the linker's command line) only fixes the executable's address.
    if !on("TALLY_PIE", false) && linux_gnu {
        println!("cargo:rustc-link-arg-bin=tally=-no-pie");
    }
}
