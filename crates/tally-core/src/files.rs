//! Reading project files under tally's trust model (README, "Trust model and limits"): regular
//! files only (never a FIFO, a device or a directory), at most [`MAX_FILE_BYTES`], UTF-8 with the
//! position of the first invalid byte, and inside the project directory unless the user allowed
//! more (`--allow-outside-project`).

use std::io::Read;
use std::path::{Component, Path, PathBuf};

/// The largest file tally reads (YAML, SQL templates, CSV fixtures).
pub const MAX_FILE_BYTES: u64 = 32 << 20;

/// Why a file could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// Missing, unreadable, not a regular file, or too large (E0001).
    Io(String),
    /// The path leads outside the project directory (E0009).
    Outside(String),
    /// Not UTF-8: the text with invalid bytes replaced, and the byte offset of the first one.
    Utf8 { text: String, at: usize },
}

impl ReadError {
    pub fn message(&self) -> String {
        match self {
            ReadError::Io(m) | ReadError::Outside(m) => m.clone(),
            ReadError::Utf8 { .. } => "the file is not valid UTF-8".into(),
        }
    }
}

/// Reads files for one project.
#[derive(Clone, Debug)]
pub struct FileReader {
    root: PathBuf,
    /// The project directory with symbolic links resolved (None when it cannot be resolved).
    canonical_root: Option<PathBuf>,
    allow_outside: bool,
    /// Directories with symbolic links resolved, as found while this reader reads (`real_path`):
    /// a project's files share a few directories, and resolving each file's whole path again
    /// (`realpath` looks at every component) was most of the cost of reading them.
    dirs: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<PathBuf, PathBuf>>>,
}

impl FileReader {
    pub fn new(root: &Path, allow_outside: bool) -> FileReader {
        FileReader {
            root: root.to_path_buf(),
            canonical_root: std::fs::canonicalize(root).ok(),
            allow_outside,
            dirs: Default::default(),
        }
    }

    /// `path` with symbolic links resolved, as [`std::fs::canonicalize`] gives it: for a path
    /// whose last component is a name that is no symbolic link, the resolved parent directory
    /// (remembered) joined with that name; any other path is resolved whole. Also the path's own
    /// metadata when it was looked at on the way (the short way, a path that is no link), so that
    /// reading the file does not ask the disk again.
    fn real_path(&self, path: &Path) -> std::io::Result<(PathBuf, Option<std::fs::Metadata>)> {
        let whole = |path: &Path| std::fs::canonicalize(path).map(|p| (p, None));
        let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
            return whole(path);
        };
        // `a/b/.` has the file name `b` and the parent `a`: only a path that is its parent
        // joined with its name, byte for byte, takes the short way.
        let rejoined = parent.join(name);
        if parent.as_os_str().is_empty() || rejoined.as_os_str() != path.as_os_str() {
            return whole(path);
        }
        // An error here is the one canonicalize would give (the path does not exist, or a
        // component is no directory).
        let meta = std::fs::symlink_metadata(path)?;
        if meta.file_type().is_symlink() {
            return whole(path);
        }
        let mut dirs = self.dirs.lock().unwrap_or_else(|e| e.into_inner());
        let dir = match dirs.get(parent) {
            Some(d) => d.clone(),
            None => {
                let d = std::fs::canonicalize(parent)?;
                dirs.insert(parent.to_path_buf(), d.clone());
                d
            }
        };
        Ok((dir.join(name), Some(meta)))
    }

    /// Whether `path` (absolute, or relative to the current directory like the root) stays inside
    /// the project: lexically (no `..` above the root, no other absolute path) and once symbolic
    /// links are resolved. A path that does not exist yet is judged lexically.
    pub fn check_inside(&self, path: &Path) -> Result<(), ReadError> {
        self.inside(path).map(|_| ())
    }

    /// [`FileReader::check_inside`], keeping the metadata of a path that is no symbolic link
    /// when the check looked at it.
    fn inside(&self, path: &Path) -> Result<Option<std::fs::Metadata>, ReadError> {
        if self.allow_outside {
            return Ok(None);
        }
        // Shown relative to the project, as the user wrote it (no machine-specific prefix).
        let shown = path.strip_prefix(&self.root).unwrap_or(path);
        let outside = || {
            ReadError::Outside(format!(
                "`{}` leads outside the project directory",
                shown.display()
            ))
        };
        let lexical_inside = match path.strip_prefix(&self.root) {
            Ok(rel) => !escapes(rel),
            Err(_) => match (&self.canonical_root, path.is_absolute()) {
                (Some(c), true) => path.strip_prefix(c).is_ok_and(|rel| !escapes(rel)),
                _ => false,
            },
        };
        if !lexical_inside {
            return Err(outside());
        }
        let Some(root) = &self.canonical_root else {
            return Ok(None);
        };
        match self.real_path(path) {
            Ok((real, _)) if !real.starts_with(root) => Err(outside()),
            Ok((_, meta)) => Ok(meta),
            Err(_) => Ok(None),
        }
    }

    /// Read a project file as text.
    pub fn read(&self, path: &Path) -> Result<String, ReadError> {
        let meta = self.inside(path)?;
        read_limited_as(path, meta)
    }
}

/// Whether a relative path climbs above its base (`..` beyond what it descended) or is absolute.
fn escapes(rel: &Path) -> bool {
    let mut depth = 0i64;
    for c in rel.components() {
        match c {
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::ParentDir => {
                depth -= 1;
                if depth < 0 {
                    return true;
                }
            }
            Component::RootDir | Component::Prefix(_) => return true,
        }
    }
    false
}

/// Read a regular file of at most [`MAX_FILE_BYTES`] as UTF-8 text.
pub fn read_limited(path: &Path) -> Result<String, ReadError> {
    read_limited_as(path, None)
}

/// [`read_limited`] with the path's metadata when the caller has it (a path that is no symbolic
/// link: its own metadata is the file's).
fn read_limited_as(path: &Path, meta: Option<std::fs::Metadata>) -> Result<String, ReadError> {
    let meta = match meta {
        Some(m) => m,
        None => std::fs::metadata(path)
            .map_err(|e| ReadError::Io(format!("cannot read `{}`: {e}", path.display())))?,
    };
    if !meta.is_file() {
        let kind = if meta.is_dir() {
            "a directory"
        } else {
            "not a regular file (a FIFO, device or socket)"
        };
        return Err(ReadError::Io(format!(
            "cannot read `{}`: it is {kind}; tally reads only regular files",
            path.display()
        )));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(too_large(path));
    }
    let file = std::fs::File::open(path)
        .map_err(|e| ReadError::Io(format!("cannot read `{}`: {e}", path.display())))?;
    // Sized from the metadata, so that a file is read in one call (and one more that finds its
    // end) rather than in growing pieces; the limit still holds if the file grew meanwhile.
    let mut bytes = Vec::with_capacity(meta.len() as usize + 1);
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| ReadError::Io(format!("cannot read `{}`: {e}", path.display())))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_large(path));
    }
    decode_utf8(bytes)
}

/// Text from bytes; invalid UTF-8 is reported with the offset of the first bad byte.
pub fn decode_utf8(bytes: Vec<u8>) -> Result<String, ReadError> {
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        ReadError::Utf8 {
            text: String::from_utf8_lossy(e.as_bytes()).into_owned(),
            at,
        }
    })
}

fn too_large(path: &Path) -> ReadError {
    ReadError::Io(format!(
        "cannot read `{}`: it is larger than {} MiB, the largest file tally reads",
        path.display(),
        MAX_FILE_BYTES >> 20
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_is_lexical() {
        assert!(!escapes(Path::new("models/a.yml")));
        assert!(!escapes(Path::new("models/../metrics/a.yml")));
        assert!(escapes(Path::new("../a.yml")));
        assert!(escapes(Path::new("models/../../a.yml")));
        assert!(escapes(Path::new("/etc/passwd")));
    }

    #[test]
    fn invalid_utf8_keeps_the_offset() {
        match decode_utf8(b"ab\ncd\xff".to_vec()) {
            Err(ReadError::Utf8 { at, text }) => {
                assert_eq!(at, 5);
                assert!(text.starts_with("ab\ncd"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn only_regular_files_inside_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("p");
        std::fs::create_dir_all(root.join("models")).unwrap();
        std::fs::write(root.join("models/a.yml"), "x: 1\n").unwrap();
        std::fs::write(dir.path().join("secret.yml"), "x: 2\n").unwrap();
        let r = FileReader::new(&root, false);
        assert_eq!(r.read(&root.join("models/a.yml")).unwrap(), "x: 1\n");
        assert!(matches!(
            r.read(&root.join("../secret.yml")),
            Err(ReadError::Outside(_))
        ));
        assert!(matches!(
            r.read(&root.join("models")),
            Err(ReadError::Io(_))
        ));
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(dir.path().join("secret.yml"), root.join("models/l.yml"))
                .unwrap();
            assert!(matches!(
                r.read(&root.join("models/l.yml")),
                Err(ReadError::Outside(_))
            ));
            assert!(FileReader::new(&root, true)
                .read(&root.join("models/l.yml"))
                .is_ok());
        }
    }

    /// The remembered directories give what `canonicalize` gives: through linked directories
    /// (inside and outside the root), linked files, `.` and `..`, missing paths and files used
    /// as directories; a file below a linked directory that leaves the root stays outside.
    #[cfg(unix)]
    #[test]
    fn real_paths_are_canonical_paths() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("p");
        std::fs::create_dir_all(root.join("models/sub")).unwrap();
        std::fs::create_dir_all(dir.path().join("elsewhere")).unwrap();
        std::fs::write(root.join("models/a.yml"), "x: 1\n").unwrap();
        std::fs::write(root.join("models/sub/b.yml"), "x: 1\n").unwrap();
        std::fs::write(dir.path().join("elsewhere/s.yml"), "x: 2\n").unwrap();
        symlink(root.join("models/sub"), root.join("models/in")).unwrap();
        symlink(dir.path().join("elsewhere"), root.join("models/out")).unwrap();
        symlink(root.join("models/a.yml"), root.join("models/l.yml")).unwrap();
        let r = FileReader::new(&root, false);
        for rel in [
            "models/a.yml",
            "models/sub/b.yml",
            "models/in/b.yml",
            "models/out/s.yml",
            "models/l.yml",
            "models/./a.yml",
            "models/sub/../a.yml",
            "models/in/../a.yml",
            "models/a.yml/.",
            "models/a.yml/x",
            "models/missing.yml",
            "models/missing/a.yml",
            "models/sub/",
            "models/sub/.",
            "models/sub/..",
            "models//a.yml",
        ] {
            let path = root.join(rel);
            // Twice: the second time from the remembered directory.
            for _ in 0..2 {
                assert_eq!(
                    r.real_path(&path).ok().map(|(real, _)| real),
                    std::fs::canonicalize(&path).ok(),
                    "{rel}"
                );
            }
        }
        assert!(matches!(
            r.read(&root.join("models/out/s.yml")),
            Err(ReadError::Outside(_))
        ));
        assert_eq!(r.read(&root.join("models/in/b.yml")).unwrap(), "x: 1\n");
    }
}
