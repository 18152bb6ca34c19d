//! The dbt loader's file questions: `Recorded` writes each question down once and answers a
//! repeated directory listing or directory test of the same load from its log; `has_jinja`.

use std::cell::Cell;
use std::path::{Path, PathBuf};
use tally_core::dbt::render::has_jinja;
use tally_core::dbt::{Consulted, Files, MemFiles, Recorded};

/// `MemFiles` that counts the questions that reach it.
struct Counting {
    files: MemFiles,
    lists: Cell<usize>,
    dirs: Cell<usize>,
}

impl Files for Counting {
    fn read(&self, path: &Path) -> Result<String, String> {
        self.files.read(path)
    }
    fn is_file(&self, path: &Path) -> bool {
        self.files.is_file(path)
    }
    fn is_dir(&self, path: &Path) -> bool {
        self.dirs.set(self.dirs.get() + 1);
        self.files.is_dir(path)
    }
    fn list(&self, dir: &Path) -> Vec<PathBuf> {
        self.lists.set(self.lists.get() + 1);
        self.files.list(dir)
    }
}

#[test]
fn a_repeated_directory_question_is_answered_from_the_log_of_its_load() {
    let disk = Counting {
        files: MemFiles::new(&[
            ("p/models/a.sql", "select 1"),
            ("p/models/sub/b.sql", "select 2"),
        ]),
        lists: Cell::new(0),
        dirs: Cell::new(0),
    };
    let log = Consulted::default();
    let files = Recorded {
        files: &disk,
        log: &log,
    };
    let models = Path::new("p/models");
    let first = files.list(models);
    assert_eq!(
        first,
        vec![
            PathBuf::from("p/models/a.sql"),
            PathBuf::from("p/models/sub")
        ]
    );
    assert!(files.is_dir(Path::new("p/models/sub")));
    assert!(!files.is_dir(Path::new("p/models/a.sql")));
    // The same questions again: the same answers, from the log.
    assert_eq!(files.list(models), first);
    assert!(files.is_dir(Path::new("p/models/sub")));
    assert!(!files.is_dir(Path::new("p/models/a.sql")));
    assert_eq!((disk.lists.get(), disk.dirs.get()), (1, 2));
    let asked: Vec<(&str, String)> = log.take().into_iter().map(|c| (c.kind, c.key)).collect();
    assert_eq!(
        asked,
        vec![
            ("list", "p/models".to_string()),
            ("is_dir", "p/models/sub".to_string()),
            ("is_dir", "p/models/a.sql".to_string()),
        ]
    );
    // `take` ends the load: the next one asks the files again.
    assert_eq!(files.list(models), first);
    assert_eq!(disk.lists.get(), 2);
}

#[test]
fn has_jinja_finds_the_three_openers_anywhere() {
    let slow = |s: &str| s.contains("{{") || s.contains("{%") || s.contains("{#");
    for s in [
        "",
        "{",
        "{{",
        "{%",
        "{#",
        "{ {",
        "}}",
        "a{",
        "a{{ var('x') }}",
        "plain text",
        "{x}{y}",
        "end {#",
        "{{{",
        "é{{",
        "{é",
        "%{",
    ] {
        assert_eq!(has_jinja(s), slow(s), "{s:?}");
    }
}
