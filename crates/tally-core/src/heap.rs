//! Keeping a project's heap apart from the work done after loading it.
//!
//! Loading a large project allocates and frees a great deal (YAML nodes, the spec, one plan per
//! metric in validation) in between what the [`Model`](crate::model::Model) keeps. With glibc's
//! allocator every thread allocates from one arena, so a query planned after loading took its
//! memory from the holes the load left all over a heap of hundreds of megabytes: the wide query of
//! the 100,000-metric benchmark ran the same instructions as on the 10,000-metric project (444M
//! against 447M under callgrind) and took 1.7x the time, in cache and TLB misses; compiled on a
//! thread of its own (a fresh arena) it took the 10,000-metric time. Validation's per-metric time
//! grew the same way.
//!
//! So [`crate::pipeline::load_model`] and [`crate::pipeline::check_spec`] load on a thread of
//! their own ([`apart`]), validation on another (a small project, under [`APART_FROM_BYTES`] of
//! sources or [`APART_FROM_METRICS`] metrics, stays on the calling thread: see there;
//! `load_model` judges the sources by their files' sizes before reading them,
//! `load::sources_reach`): the model lives in the loader's arena, the caller's arena stays as
//! compact as it was, and validation's many short-lived plans do not hop across the load's holes. Nothing else changes: the same functions run, in order, and their
//! results are returned; a panic is carried over to the caller. Where a thread cannot be started,
//! the work runs on the calling thread.

/// Projects whose sources hold fewer bytes than this are read, resolved and validated on the
/// calling thread ([`apart_if`]): a thread's fresh arena faults in every page the work touches
/// (about 1.4 ms of the repository's 260 KB project, whose load takes 8 ms), while the holes a
/// small load leaves are too few to matter. The 10,000-metric benchmark project has 9 MB of YAML.
pub const APART_FROM_BYTES: usize = 2 << 20;

/// Models with fewer metrics than this are validated on the thread that resolved them.
pub const APART_FROM_METRICS: usize = 2_000;

/// [`apart`] when `large`, else `f` here.
pub fn apart_if<T: Send, F: FnOnce() -> T + Send>(large: bool, f: F) -> T {
    if large {
        apart(f)
    } else {
        f()
    }
}

/// The stack of a loading thread: what a process's main thread has on Linux, so that deep (but
/// bounded) recursion in parsing behaves as it does there.
const STACK: usize = 8 << 20;

/// Run `f` on a thread of its own (so, with glibc, on a heap arena of its own) and return its
/// result; a panic of `f` resumes in the caller. Runs `f` here if no thread can be started.
pub fn apart<T: Send, F: FnOnce() -> T + Send>(f: F) -> T {
    // Shared by reference, so that the work is still here when no thread starts.
    let work = std::sync::Mutex::new(Some(f));
    let run = || {
        let f = work.lock().unwrap_or_else(|e| e.into_inner()).take();
        f.map(|f| f())
    };
    let out = std::thread::scope(|s| {
        std::thread::Builder::new()
            .name("tally-load".into())
            .stack_size(STACK)
            .spawn_scoped(s, run)
            .ok()
            .and_then(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
    });
    match out {
        Some(v) => v,
        None => run().expect("the work runs once: here when no thread started"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returns_the_result_and_carries_panics_over() {
        assert_eq!(apart(|| 6 * 7), 42);
        let here = std::thread::current().id();
        assert_ne!(apart(|| std::thread::current().id()), here);
        let r = std::panic::catch_unwind(|| apart(|| -> u8 { panic!("in the loader") }));
        let p = r.expect_err("the panic is carried over");
        assert_eq!(p.downcast_ref::<&str>(), Some(&"in the loader"));
        assert_eq!(apart_if(false, || std::thread::current().id()), here);
        assert_ne!(apart_if(true, || std::thread::current().id()), here);
    }
}
