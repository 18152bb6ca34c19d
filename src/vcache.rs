//! The validation cache: a project state that validated (no errors) is remembered under the digest
//! of everything its load read (`tally_core::digest`, salted with this binary's identity), with
//! the warnings it had, so that the next command on the same state skips the whole-project
//! validation (which plans every metric) and replays the warnings. Per-query checks still run,
//! but for the self-check of generated SQL: the entry also lists the digests of the SQL texts
//! that parsed back (at most [`KEEP_PARSED`]), and a text listed is not parsed again
//! (`tally_core::pipeline::ParsedBefore`; whether a text parses depends on it and the build alone).
//!
//! Where: `$TALLY_CACHE_DIR/validation`, else `$XDG_CACHE_HOME/tally/validation`, else
//! `~/.cache/tally/validation`: a directory tally creates (with a `CACHEDIR.TAG` and a
//! `.gitignore` of `*`) and writes only while that tag is its own. One JSON file per project state,
//! written to a temporary file and renamed (concurrent processes write the same bytes); at most
//! [`KEEP`] entries, the oldest removed. Any failure (a read-only or foreign directory, a corrupt
//! entry) falls back to validating, silently (`-v` says why). `--cache off` or `TALLY_CACHE=off`
//! neither reads nor writes it; `--cache refresh` validates and records again.

use crate::Ctx;
use std::path::{Path, PathBuf};
use tally_core::diag::{codes, Diagnostic, Label, Severity};
use tally_core::dialect::Dialect;
use tally_core::load::ProjectSpec;
use tally_core::pipeline::ParsedBefore;
use tally_core::source::{FileId, Span};

/// The most entries kept (one per project state; a few KB each).
const KEEP: usize = 64;

/// The most digests of generated SQL that parsed kept in an entry (the oldest go first).
const KEEP_PARSED: usize = 256;

/// The cache directory tag (<https://bford.info/cachedir/>); its first line is the standard's.
const TAG: &str = "Signature: 8a477f597d28d172789f06886806bc55\n\
# This file is a cache directory tag created by tally (its validation cache).\n\
# For information about cache directory tags, see https://bford.info/cachedir/\n";

/// The format of an entry; another version is a miss.
const FORMAT: u64 = 2;

/// The validation cache's directory, whether or not it exists.
pub(crate) fn dir() -> Option<PathBuf> {
    let var = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let root = var("TALLY_CACHE_DIR")
        .or_else(|| {
            var("XDG_CACHE_HOME")
                .filter(|p| p.is_absolute())
                .map(|p| p.join("tally"))
        })
        .or_else(|| var("HOME").map(|h| h.join(".cache").join("tally")))?;
    Some(root.join("validation"))
}

/// Whether this command may use the cache at all.
pub(crate) fn enabled(ctx: &Ctx) -> bool {
    ctx.cache != crate::args::CacheMode::Off && std::env::var("TALLY_CACHE").as_deref() != Ok("off")
}

/// This binary, as far as a cache entry is concerned: version, path, size, modification time
/// (and inode on Unix), so that a rebuilt tally never trusts an older one's validation.
/// Worked out once per process (the parsed-YAML store and the validation cache both ask).
pub(crate) fn build_salt() -> Option<Vec<u8>> {
    static SALT: std::sync::OnceLock<Option<Vec<u8>>> = std::sync::OnceLock::new();
    SALT.get_or_init(salt_of_this_binary).clone()
}

fn salt_of_this_binary() -> Option<Vec<u8>> {
    let exe = std::env::current_exe().ok()?;
    let m = std::fs::metadata(&exe).ok()?;
    let modified = m
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?;
    let mut salt = format!(
        "{}\0{}\0{}\0{}",
        env!("CARGO_PKG_VERSION"),
        exe.display(),
        m.len(),
        modified.as_nanos()
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        salt.push_str(&format!("\0{}\0{}", m.dev(), m.ino()));
    }
    Some(salt.into_bytes())
}

/// The cache entry of one loaded project state.
pub(crate) struct Slot {
    dir: PathBuf,
    key: String,
    /// The entry as read or written, once the state is known to validate.
    entry: std::cell::RefCell<Option<Entry>>,
    /// `-v`: say when generated SQL is not parsed back again.
    verbose: bool,
}

/// What an entry holds: the state's warnings (as the entry's JSON has them) and the digests of
/// generated SQL that parsed back.
struct Entry {
    diagnostics: serde_json::Value,
    parsed: Vec<String>,
}

impl Slot {
    /// The entry of the project `spec` (as loaded, with the loader's `diags`); `None` when the
    /// cache is off or has no place.
    pub(crate) fn of(ctx: &Ctx, spec: &ProjectSpec, diags: &[Diagnostic]) -> Option<Slot> {
        if !enabled(ctx) {
            return None;
        }
        let dir = dir()?;
        let salt = build_salt()?;
        let key = tally_core::digest::project_digest(spec, diags, &ctx.opts, &salt);
        Some(Slot {
            dir,
            key,
            entry: std::cell::RefCell::new(None),
            verbose: ctx.verbose,
        })
    }

    fn path(&self) -> PathBuf {
        self.dir.join(format!("{}.json", self.key))
    }

    /// The warnings recorded for this state, when it validated before (`--cache refresh`: never).
    /// `files` is the number of source files loaded (every span must point into one).
    pub(crate) fn lookup(&self, ctx: &Ctx, files: usize) -> Option<Vec<Diagnostic>> {
        if ctx.cache == crate::args::CacheMode::Refresh || !ours(&self.dir) {
            return None;
        }
        let text = std::fs::read_to_string(self.path()).ok()?;
        let diags = decode(&text, &self.key, files).map(|(diags, entry)| {
            *self.entry.borrow_mut() = Some(entry);
            diags
        });
        if ctx.verbose {
            match &diags {
                Some(d) => eprintln!(
                    "validation: replayed from {} ({} warning(s))",
                    self.path().display(),
                    d.len()
                ),
                None => eprintln!(
                    "validation: {} is not a valid entry; validating",
                    self.path().display()
                ),
            }
        }
        diags
    }

    /// Remember that this state validated with `diags` (nothing is recorded when one is an
    /// error). Failures are silent but for `-v`.
    pub(crate) fn record(&self, ctx: &Ctx, diags: &[Diagnostic]) {
        if diags.iter().any(Diagnostic::is_error) {
            return;
        }
        let result = encode_diagnostics(diags).and_then(|diagnostics| {
            let entry = Entry {
                diagnostics,
                parsed: Vec::new(),
            };
            let written = self.write(&encode(&self.key, &entry));
            *self.entry.borrow_mut() = Some(entry);
            written
        });
        if ctx.verbose {
            match result {
                Ok(()) => eprintln!("validation: recorded in {}", self.path().display()),
                Err(e) => eprintln!("validation: not recorded ({e})"),
            }
        }
    }

    fn write(&self, text: &str) -> Result<(), String> {
        make_dir(&self.dir)?;
        let path = self.path();
        write_atomic(&self.dir, &path, text.as_bytes())
            .map_err(|e| format!("{}: {e}", path.display()))?;
        prune(&self.dir);
        Ok(())
    }
}

/// Whether `dir` is the validation cache tally made (its tag is there).
pub(crate) fn ours(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("CACHEDIR.TAG")).is_ok_and(|t| t == TAG)
}

/// Create the cache directory (and its parents) unless it exists; an existing directory is used
/// only when tally made it.
pub(crate) fn make_dir(dir: &Path) -> Result<(), String> {
    if ours(dir) {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    match std::fs::create_dir(dir) {
        Ok(()) => {
            write_atomic(dir, &dir.join(".gitignore"), b"*\n").map_err(|e| e.to_string())?;
            write_atomic(dir, &dir.join("CACHEDIR.TAG"), TAG.as_bytes()).map_err(|e| e.to_string())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(format!(
            "{} exists and is not tally's validation cache (no CACHEDIR.TAG of tally's)",
            dir.display()
        )),
        Err(e) => Err(format!("{}: {e}", dir.display())),
    }
}

/// Write `path` whole or not at all: a temporary file of this process in `dir`, renamed.
pub(crate) fn write_atomic(dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = dir.join(format!(".tmp-{}-{n}", std::process::id()));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .and_then(|mut f| f.write_all(bytes))
        .and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// The entries of the cache (`*.json`), oldest first.
fn entries(dir: &Path) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<(std::time::SystemTime, PathBuf)> = rd
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .filter_map(|p| Some((std::fs::metadata(&p).ok()?.modified().ok()?, p)))
        .collect();
    found.sort();
    found.into_iter().map(|(_, p)| p).collect()
}

/// Keep the newest [`KEEP`] entries (another process may be removing the same ones).
fn prune(dir: &Path) {
    let all = entries(dir);
    for p in &all[..all.len().saturating_sub(KEEP)] {
        let _ = std::fs::remove_file(p);
    }
}

/// The name of a generated SQL text in an entry: 128 bits of the SHA-256 of the dialect's name
/// and the text.
fn parsed_digest(dialect: Dialect, sql: &str) -> String {
    let hash = tally_core::digest::sha256(&[dialect.name().as_bytes(), b"\0", sql.as_bytes()]);
    hash[..16].iter().map(|b| format!("{b:02x}")).collect()
}

impl ParsedBefore for Slot {
    fn parsed_before(&self, dialect: Dialect, sql: &str) -> bool {
        let entry = self.entry.borrow();
        let known = entry
            .as_ref()
            .is_some_and(|e| e.parsed.contains(&parsed_digest(dialect, sql)));
        if known && self.verbose {
            eprintln!(
                "generated SQL: parsed back before, not again ({})",
                self.path().display()
            );
        }
        known
    }

    /// Listed in the entry, written at once (a failure is silent: the text is parsed next time).
    fn parsed_now(&self, dialect: Dialect, sql: &str) {
        let mut entry = self.entry.borrow_mut();
        let Some(e) = entry.as_mut() else { return };
        let digest = parsed_digest(dialect, sql);
        if e.parsed.contains(&digest) {
            return;
        }
        e.parsed.push(digest);
        let over = e.parsed.len().saturating_sub(KEEP_PARSED);
        e.parsed.drain(..over);
        let written = self.write(&encode(&self.key, e));
        if self.verbose {
            match written {
                Ok(()) => eprintln!(
                    "generated SQL: parsed back, remembered in {}",
                    self.path().display()
                ),
                Err(e) => eprintln!("generated SQL: parsed back, not remembered ({e})"),
            }
        }
    }
}

// ----- the entry's JSON -------------------------------------------------------------------------------

fn span_json(s: Span) -> serde_json::Value {
    serde_json::json!([s.file.0, s.start, s.end])
}

fn encode_diagnostics(diags: &[Diagnostic]) -> Result<serde_json::Value, String> {
    let mut out = Vec::with_capacity(diags.len());
    for d in diags {
        // Only codes that can be read back (every code tally has is in the table).
        if !codes::ALL.iter().any(|(c, _)| *c == d.code) {
            return Err(format!("unknown code {}", d.code));
        }
        out.push(serde_json::json!({
            "code": d.code,
            "severity": d.severity.as_str(),
            "message": d.message,
            "span": span_json(d.span),
            "label": d.label,
            "labels": d.labels.iter().map(|l| serde_json::json!({"span": span_json(l.span), "message": l.message})).collect::<Vec<_>>(),
            "help": d.help,
        }));
    }
    Ok(serde_json::Value::Array(out))
}

fn encode(key: &str, entry: &Entry) -> String {
    serde_json::json!({
        "format": FORMAT,
        "key": key,
        "diagnostics": entry.diagnostics,
        "parsed": entry.parsed,
    })
    .to_string()
}

/// The entry's warnings and the entry; `None` for another key or format, or anything malformed.
fn decode(text: &str, key: &str, files: usize) -> Option<(Vec<Diagnostic>, Entry)> {
    let mut doc: serde_json::Value = serde_json::from_str(text).ok()?;
    if doc.get("format")?.as_u64()? != FORMAT || doc.get("key")?.as_str()? != key {
        return None;
    }
    let diags = doc
        .get("diagnostics")?
        .as_array()?
        .iter()
        .map(|d| decode_diag(d, files))
        .collect::<Option<Vec<_>>>()?;
    let parsed = doc
        .get("parsed")?
        .as_array()?
        .iter()
        .map(|d| {
            d.as_str()
                .filter(|d| d.len() == 32 && d.bytes().all(|b| b.is_ascii_hexdigit()))
                .map(str::to_string)
        })
        .collect::<Option<Vec<_>>>()?;
    let entry = Entry {
        diagnostics: doc.get_mut("diagnostics")?.take(),
        parsed,
    };
    Some((diags, entry))
}

fn decode_span(v: &serde_json::Value, files: usize) -> Option<Span> {
    let a = v.as_array()?;
    let n = |i: usize| a.get(i)?.as_u64().and_then(|x| u32::try_from(x).ok());
    let s = Span {
        file: FileId(n(0)?),
        start: n(1)?,
        end: n(2)?,
    };
    (s.is_dummy() || (s.file.0 as usize) < files).then_some(s)
}

fn decode_diag(v: &serde_json::Value, files: usize) -> Option<Diagnostic> {
    let text = |k: &str| v.get(k)?.as_str().map(str::to_string);
    let code = v.get("code")?.as_str()?;
    let code = codes::ALL.iter().find(|(c, _)| *c == code)?.0;
    let severity = match v.get("severity")?.as_str()? {
        "warning" => Severity::Warning,
        "note" => Severity::Note,
        _ => return None,
    };
    let label = match v.get("label")? {
        serde_json::Value::Null => None,
        l => Some(l.as_str()?.to_string()),
    };
    let labels = v
        .get("labels")?
        .as_array()?
        .iter()
        .map(|l| {
            Some(Label {
                span: decode_span(l.get("span")?, files)?,
                message: l.get("message")?.as_str()?.to_string(),
            })
        })
        .collect::<Option<Vec<_>>>()?;
    let help = v
        .get("help")?
        .as_array()?
        .iter()
        .map(|h| h.as_str().map(str::to_string))
        .collect::<Option<Vec<_>>>()?;
    Some(Diagnostic {
        code,
        severity,
        message: text("message")?,
        span: decode_span(v.get("span")?, files)?,
        label,
        labels,
        help,
    })
}

// ----- `tally cache` ------------------------------------------------------------------------------------

/// `tally cache status`: where the validation cache is and how many states it holds.
#[allow(
    dead_code,
    reason = "`tally cache` runs in tally-engine; the lean binary shares the module"
)]
pub(crate) fn status() {
    match dir() {
        Some(d) if ours(&d) => println!(
            "validation cache {} ({} project state(s))",
            d.display(),
            entries(&d).len()
        ),
        Some(d) => println!("no validation cache at {}", d.display()),
        None => println!("no validation cache (no TALLY_CACHE_DIR, XDG_CACHE_HOME or HOME)"),
    }
}

/// `tally cache clear`: delete the validation cache (only a directory tally made).
#[allow(
    dead_code,
    reason = "`tally cache` runs in tally-engine; the lean binary shares the module"
)]
pub(crate) fn clear() -> Result<(), String> {
    crate::parsed::stop();
    match dir() {
        Some(d) if ours(&d) => {
            std::fs::remove_dir_all(&d).map_err(|e| format!("{}: {e}", d.display()))?;
            println!("removed validation cache {}", d.display());
        }
        Some(d) => println!("no validation cache at {}", d.display()),
        None => println!("no validation cache"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diagnostics_round_trip() {
        let d = Diagnostic::warning(codes::UNKNOWN_KEY, "a \"key\"\nthat is odd")
            .with_help("did you mean `name`?");
        let mut d = d;
        d.span = Span {
            file: FileId(1),
            start: 3,
            end: 9,
        };
        d.label = Some("here".into());
        d.labels.push(Label {
            span: Span::DUMMY,
            message: "and here".into(),
        });
        let no_span = Diagnostic::warning(codes::IO, "elsewhere");
        let entry = Entry {
            diagnostics: encode_diagnostics(&[d.clone(), no_span.clone()]).expect("encode"),
            parsed: vec![parsed_digest(Dialect::DuckDb, "SELECT 1")],
        };
        let text = encode("k", &entry);
        let (diags, back) = decode(&text, "k", 2).expect("decode");
        assert_eq!(diags, vec![d, no_span]);
        assert_eq!(back.parsed, entry.parsed);
        assert!(decode(&text, "other", 2).is_none(), "another key");
        assert!(decode(&text, "k", 1).is_none(), "a span past the files");
        assert!(decode("{not json", "k", 2).is_none());
        let bad = text.replace(&entry.parsed[0], "not a digest");
        assert!(decode(&bad, "k", 2).is_none(), "a malformed digest");
    }

    #[test]
    fn a_text_is_named_with_its_dialect() {
        let a = parsed_digest(Dialect::DuckDb, "SELECT 1");
        assert_eq!(a.len(), 32);
        assert_eq!(a, parsed_digest(Dialect::DuckDb, "SELECT 1"));
        assert_ne!(a, parsed_digest(Dialect::Postgres, "SELECT 1"));
        assert_ne!(a, parsed_digest(Dialect::DuckDb, "SELECT 2"));
    }

    /// A slot remembers a text once the state is known to validate, and keeps the newest
    /// [`KEEP_PARSED`]; nothing is remembered before.
    #[test]
    fn a_slot_remembers_texts_that_parsed() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let slot = Slot {
            dir: dir.path().join("validation"),
            key: "k".into(),
            entry: std::cell::RefCell::new(None),
            verbose: false,
        };
        slot.parsed_now(Dialect::DuckDb, "SELECT 1");
        assert!(
            !slot.parsed_before(Dialect::DuckDb, "SELECT 1"),
            "no entry yet"
        );
        *slot.entry.borrow_mut() = Some(Entry {
            diagnostics: serde_json::json!([]),
            parsed: Vec::new(),
        });
        for i in 0..=KEEP_PARSED {
            slot.parsed_now(Dialect::DuckDb, &format!("SELECT {i}"));
        }
        assert!(
            !slot.parsed_before(Dialect::DuckDb, "SELECT 0"),
            "the oldest went"
        );
        assert!(slot.parsed_before(Dialect::DuckDb, "SELECT 1"));
        assert!(slot.parsed_before(Dialect::DuckDb, &format!("SELECT {KEEP_PARSED}")));
        assert!(!slot.parsed_before(Dialect::Postgres, "SELECT 1"));
        // Written as it learns: the file read back holds the same list.
        let text = std::fs::read_to_string(slot.path()).expect("the entry was written");
        let (_, entry) = decode(&text, "k", 0).expect("decode");
        assert_eq!(entry.parsed.len(), KEEP_PARSED);
    }
}
