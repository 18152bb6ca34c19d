//! The DuckDB database files of the CLI: publishing generated sample data (under a lock, into a
//! temporary file renamed into place, never over a file that is not a DuckDB database), and
//! opening a project's database for reading (never creating one).

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

/// What is at a database path.
#[derive(Debug, PartialEq)]
pub(crate) enum Target {
    Missing,
    /// An empty regular file (what an interrupted tool leaves): nothing to lose.
    Empty,
    /// A regular file with DuckDB's header.
    DuckDb,
}

/// Inspect a path tally is asked to write a database to. Anything but nothing or a regular DuckDB
/// file (a symbolic link, a directory, a FIFO, a device, a text file) is refused with the reason.
pub(crate) fn inspect(path: &Path) -> Result<Target, String> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Target::Missing),
        Err(e) => return Err(format!("cannot inspect {}: {e}", path.display())),
    };
    if meta.file_type().is_symlink() {
        return Err(format!(
            "{} is a symbolic link; tally does not write through links (give the real path)",
            path.display()
        ));
    }
    if !meta.is_file() {
        return Err(format!(
            "{} is not a regular file (a directory, FIFO, device or socket)",
            path.display()
        ));
    }
    if meta.len() == 0 {
        return Ok(Target::Empty);
    }
    if is_duckdb_file(path) {
        return Ok(Target::DuckDb);
    }
    Err(format!(
        "{} exists and is not a DuckDB database; tally replaces only DuckDB databases",
        path.display()
    ))
}

/// DuckDB's file header: an 8-byte checksum, then the magic bytes `DUCK`.
pub(crate) fn is_duckdb_file(path: &Path) -> bool {
    let mut head = [0u8; 12];
    File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok()
        && &head[8..12] == b"DUCK"
}

/// The lock file beside a database, held while it is generated.
fn lock_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    path.with_file_name(name)
}

fn temp_path(path: &Path) -> PathBuf {
    let mut name = std::ffi::OsString::from(".");
    name.push(path.file_name().unwrap_or_default());
    name.push(format!(".tmp-{}", std::process::id()));
    path.with_file_name(name)
}

fn remove_with_wal(path: &Path) {
    let _ = std::fs::remove_file(path);
    let mut wal = path.as_os_str().to_os_string();
    wal.push(".wal");
    let _ = std::fs::remove_file(PathBuf::from(wal));
}

/// How publishing ended.
#[derive(Debug, PartialEq)]
pub(crate) enum Published {
    /// This process generated the database.
    Generated,
    /// Another process published it while this one waited for the lock (`only_if_missing`).
    AlreadyThere,
}

/// Generate a database at `path` under an exclusive lock: `fill` writes into a temporary file in
/// the same directory, which is then renamed over `path` (readers see the old file or the new
/// one, never half of one). With `only_if_missing`, a database that appeared while waiting for the
/// lock is kept. Errors are messages; a failure removes the temporary file.
pub(crate) fn publish(
    path: &Path,
    only_if_missing: bool,
    fill: impl FnOnce(&Path) -> Result<(), String>,
) -> Result<Published, String> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let lock_at = lock_path(path);
    if std::fs::symlink_metadata(&lock_at).is_ok_and(|m| !m.is_file()) {
        return Err(format!(
            "{} is not a regular file; remove it",
            lock_at.display()
        ));
    }
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_at)
        .map_err(|e| format!("cannot open the lock file {}: {e}", lock_at.display()))?;
    lock.lock()
        .map_err(|e| format!("cannot lock {}: {e}", lock_at.display()))?;
    // Checked again under the lock: another process may have published meanwhile.
    match inspect(path)? {
        Target::DuckDb if only_if_missing => return Ok(Published::AlreadyThere),
        _ => {}
    }
    let tmp = temp_path(path);
    remove_with_wal(&tmp);
    let result = fill(&tmp).and_then(|()| {
        std::fs::rename(&tmp, path)
            .map_err(|e| format!("cannot move the new database to {}: {e}", path.display()))
    });
    if result.is_err() {
        remove_with_wal(&tmp);
    }
    // The lock is released when `lock` is dropped (or the process ends).
    drop(lock);
    result.map(|()| Published::Generated)
}

/// A hint for DuckDB's "Ambiguous reference to catalog or schema": DuckDB names the database
/// after its file, so a file named like a schema in it (`intercom.duckdb` holding the schema
/// `intercom`) makes `intercom.table` mean either.
pub(crate) fn ambiguity_hint(error: &str) -> Option<String> {
    let rest = &error[error.find("Ambiguous reference to catalog or schema")?..];
    let name = rest.split('"').nth(1).filter(|n| !n.is_empty())?;
    Some(format!(
        "`{name}` is both the database (DuckDB names a database after its file, `{name}.duckdb`) \
         and a schema in it, so `{name}.<table>` is ambiguous: rename the database file \
         (for example to `{name}_data.duckdb`, and `duckdb:` in tally.yml or --duckdb with it)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_missing_or_duckdb_files_are_targets() {
        let dir = tempfile::tempdir().unwrap();
        let text = dir.path().join("notes.txt");
        std::fs::write(&text, "my notes").unwrap();
        assert!(inspect(&text)
            .unwrap_err()
            .contains("not a DuckDB database"));
        assert!(inspect(dir.path())
            .unwrap_err()
            .contains("not a regular file"));
        assert_eq!(
            inspect(&dir.path().join("new.duckdb")).unwrap(),
            Target::Missing
        );
        #[cfg(unix)]
        {
            let link = dir.path().join("link.duckdb");
            std::os::unix::fs::symlink(&text, &link).unwrap();
            assert!(inspect(&link).unwrap_err().contains("symbolic link"));
        }
        let fake = dir.path().join("fake.duckdb");
        std::fs::write(&fake, b"\0\0\0\0\0\0\0\0DUCK and more").unwrap();
        assert_eq!(inspect(&fake).unwrap(), Target::DuckDb);
    }

    #[test]
    fn a_failed_fill_leaves_nothing_and_the_old_file_intact() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("x.duckdb");
        std::fs::write(&db, b"\0\0\0\0\0\0\0\0DUCKold").unwrap();
        let err = publish(&db, false, |tmp| {
            std::fs::write(tmp, "partial").unwrap();
            Err("boom".into())
        })
        .unwrap_err();
        assert_eq!(err, "boom");
        assert_eq!(std::fs::read(&db).unwrap(), b"\0\0\0\0\0\0\0\0DUCKold");
        let left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains("tmp"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
        assert_eq!(
            publish(&db, true, |_| panic!("not called")).unwrap(),
            Published::AlreadyThere
        );
    }

    #[test]
    fn an_ambiguous_schema_names_the_name_and_the_fix() {
        let e = "Binder Error: Ambiguous reference to catalog or schema \"intercom\" - use a fully qualified path like \"memory.intercom\"";
        let hint = super::ambiguity_hint(e).expect("a hint");
        assert!(
            hint.starts_with("`intercom` is both the database"),
            "{hint}"
        );
        assert!(hint.contains("intercom_data.duckdb"), "{hint}");
        assert_eq!(
            super::ambiguity_hint("Catalog Error: Table x does not exist"),
            None
        );
    }
}
