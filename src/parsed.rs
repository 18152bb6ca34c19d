//! Parsed YAML kept between runs (`tally_core::yaml::remembered`): one file per project in the
//! validation cache's directory (`parsed-<project>.bin`), holding the scanned tree of every YAML
//! text the last load of that project read, by the text's SHA-256. A command reads it once,
//! looks each file's text up in it (a hit skips saphyr's scan, most of a load's YAML cost) and,
//! when a text was not there, writes it again with the texts this load read (so it never grows
//! past one project state). Off with the validation cache (`--cache off`, `TALLY_CACHE=off`);
//! `--cache refresh` scans every text and writes the file again. The file names this binary
//! (`vcache::build_salt`): another tally's file is ignored; a checksum over the file makes a
//! damaged one a miss. Any failure is a miss, silently (`-v` says what happened).

use crate::Ctx;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use tally_core::yaml::remembered::{Key, Store};

/// The first bytes of the file (its format).
const MAGIC: &[u8] = b"tally parsed yaml pack 1\n";

/// The header: [`MAGIC`], then the SHA-256 of the core's format and this binary's identity.
fn header(salt: &[u8]) -> Key {
    sha(&[tally_core::yaml::remembered::FORMAT.as_bytes(), b"\0", salt])
}

/// The most project files kept.
const KEEP: usize = 32;

struct Pack {
    path: PathBuf,
    dir: PathBuf,
    /// SHA-256 of this binary's identity: the file's header.
    salt: Key,
    refresh: bool,
    /// The file's entries, read on the first lookup.
    kept: OnceLock<HashMap<Key, Arc<[u8]>>>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// The texts this load read, with their entries (each text once).
    used: HashMap<Key, Arc<[u8]>>,
    /// Of them, found in the file.
    hits: usize,
    /// A text was scanned: the file is written again.
    dirty: bool,
}

static PACK: OnceLock<&'static Pack> = OnceLock::new();

/// Set by `tally cache clear`: this process keeps nothing more (reading the project after the
/// clear must not make the directory again).
static CLEARED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Keep nothing more in this process (`tally cache clear`).
#[allow(
    dead_code,
    reason = "`tally cache` runs in tally-engine; the lean binary shares the module"
)]
pub(crate) fn stop() {
    CLEARED.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Install the store for `ctx`'s project (once per process; nothing when the cache is off or has
/// no place).
///
/// A later call (a server reading the project again) starts a new load: what the next flush
/// writes is that load's texts, so a long-running process keeps one state, not every one it saw.
pub(crate) fn install(ctx: &Ctx) {
    if let Some(pack) = PACK.get() {
        *pack.state.lock().unwrap_or_else(|e| e.into_inner()) = State::default();
        return;
    }
    if !crate::vcache::enabled(ctx) {
        return;
    }
    let (Some(dir), Some(salt)) = (crate::vcache::dir(), crate::vcache::build_salt()) else {
        return;
    };
    let root = std::fs::canonicalize(&ctx.project).unwrap_or_else(|_| ctx.project.clone());
    let name = hex(&sha(&[root.as_os_str().as_encoded_bytes()])[..12]);
    let pack: &'static Pack = Box::leak(Box::new(Pack {
        path: dir.join(format!("parsed-{name}.bin")),
        dir,
        salt: header(&salt),
        refresh: ctx.cache == crate::args::CacheMode::Refresh,
        kept: OnceLock::new(),
        state: Mutex::new(State::default()),
    }));
    if PACK.set(pack).is_ok() {
        tally_core::yaml::remembered::install(Box::new(Handle(pack)));
    }
}

/// Write the file again when this process scanned a text it did not hold.
pub(crate) fn flush(ctx: &Ctx) {
    let Some(pack) = PACK.get() else {
        return;
    };
    let mut st = pack.state.lock().unwrap_or_else(|e| e.into_inner());
    if ctx.verbose {
        eprintln!(
            "parsed YAML: {} of {} text(s) from {}",
            st.hits,
            st.used.len(),
            pack.path.display()
        );
    }
    if !st.dirty || CLEARED.load(std::sync::atomic::Ordering::Relaxed) {
        return;
    }
    st.dirty = false;
    let mut bytes = MAGIC.to_vec();
    bytes.extend_from_slice(&pack.salt);
    #[allow(
        clippy::iter_over_hash_type,
        reason = "the file's entries are looked up by key; their order means nothing"
    )]
    for (k, v) in &st.used {
        bytes.extend_from_slice(k);
        bytes.extend_from_slice(&(v.len() as u64).to_le_bytes());
        bytes.extend_from_slice(v);
    }
    drop(st);
    let sum = checksum(&bytes);
    bytes.extend_from_slice(&sum.to_le_bytes());
    let written = crate::vcache::make_dir(&pack.dir).and_then(|()| {
        crate::vcache::write_atomic(&pack.dir, &pack.path, &bytes)
            .map_err(|e| format!("{}: {e}", pack.path.display()))
    });
    match written {
        Ok(()) => prune(&pack.dir),
        Err(e) if ctx.verbose => eprintln!("parsed YAML: not kept ({e})"),
        Err(_) => {}
    }
}

struct Handle(&'static Pack);

impl Store for Handle {
    fn get(&self, key: &Key) -> Option<Arc<[u8]>> {
        let pack = self.0;
        if pack.refresh {
            return None;
        }
        let found = pack
            .kept
            .get_or_init(|| read(&pack.dir, &pack.path, &pack.salt).unwrap_or_default())
            .get(key)?
            .clone();
        let mut st = pack.state.lock().unwrap_or_else(|e| e.into_inner());
        if st.used.insert(*key, found.clone()).is_none() {
            st.hits += 1;
        }
        Some(found)
    }

    fn put(&self, key: Key, encoded: Vec<u8>) {
        let mut st = self.0.state.lock().unwrap_or_else(|e| e.into_inner());
        st.used.insert(key, encoded.into());
        st.dirty = true;
    }
}

/// The entries of the file at `path`, when it is one of this binary's.
fn read(dir: &Path, path: &Path, salt: &Key) -> Option<HashMap<Key, Arc<[u8]>>> {
    if !crate::vcache::ours(dir) {
        return None;
    }
    let bytes = std::fs::read(path).ok()?;
    let (body, sum) = bytes.split_at_checked(bytes.len().checked_sub(8)?)?;
    if checksum(body).to_le_bytes() != sum {
        return None;
    }
    let mut rest = body.strip_prefix(MAGIC)?.strip_prefix(&salt[..])?;
    let mut out = HashMap::new();
    while !rest.is_empty() {
        let key: Key = rest.get(..32)?.try_into().ok()?;
        let len = u64::from_le_bytes(rest.get(32..40)?.try_into().ok()?);
        let len = usize::try_from(len).ok()?;
        let entry = rest.get(40..40usize.checked_add(len)?)?;
        out.insert(key, Arc::from(entry));
        rest = &rest[40 + len..];
    }
    Some(out)
}

/// Keep the newest [`KEEP`] files of parsed YAML.
fn prune(dir: &Path) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut found: Vec<(std::time::SystemTime, PathBuf)> = rd
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("parsed-") && n.ends_with(".bin"))
        })
        .filter_map(|p| Some((std::fs::metadata(&p).ok()?.modified().ok()?, p)))
        .collect();
    found.sort();
    for (_, p) in &found[..found.len().saturating_sub(KEEP)] {
        let _ = std::fs::remove_file(p);
    }
}

/// A check of the file's bytes (std's SipHash with its fixed keys, the same in every run of one
/// binary, and the file names its binary): a changed byte anywhere makes the file a miss, so that
/// a damaged entry never decodes to another tree. Not a defence against someone who may write
/// the user's cache directory (they could as well change the project).
fn checksum(bytes: &[u8]) -> u64 {
    use std::hash::Hasher;
    let mut h = std::collections::hash_map::DefaultHasher::new();
    h.write(bytes);
    h.finish()
}

fn sha(parts: &[&[u8]]) -> Key {
    tally_core::digest::sha256(parts)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
