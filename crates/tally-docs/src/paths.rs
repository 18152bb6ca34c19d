//! Where each page lives in the site, and relative links between pages.
//!
//! Every path is relative to the site's root, uses `/`, and is made of safe file-name characters
//! only: names come from users, so every byte outside `[A-Za-z0-9_-]` is encoded as `~xx` (`~`
//! itself too), which keeps distinct names distinct and makes `..`, `/` and leading dots
//! impossible.

/// A file name for a user-given name.
pub fn slug(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' => out.push(b as char),
            b'_' => out.push('_'),
            _ => out.push_str(&format!("~{b:02x}")),
        }
    }
    if out.is_empty() {
        out.push_str("~empty");
    }
    out
}

pub fn metric(name: &str) -> String {
    format!("metrics/{}.html", slug(name))
}

pub fn semantic_model(name: &str) -> String {
    format!("models/{}.html", slug(name))
}

pub fn person(name: &str) -> String {
    format!("people/{}.html", slug(name))
}

pub fn team(name: &str) -> String {
    format!("teams/{}.html", slug(name))
}

pub fn saved_query(name: &str) -> String {
    format!("saved-queries/{}.html", slug(name))
}

pub const HOME: &str = "index.html";
pub const METRICS: &str = "metrics/index.html";
pub const MODELS: &str = "models/index.html";
pub const OWNERS: &str = "people/index.html";
pub const SAVED_QUERIES: &str = "saved-queries/index.html";
pub const DIAGNOSTICS: &str = "diagnostics.html";

/// The prefix that leads from a page back to the site's root (`""` or `"../"`).
pub fn root_of(page: &str) -> String {
    "../".repeat(page.matches('/').count())
}

/// True when `path` is a safe relative path inside the site: no empty, `.` or `..` components,
/// not absolute, no backslashes.
pub fn is_safe(path: &str) -> bool {
    !path.is_empty()
        && !path.starts_with('/')
        && !path.contains('\\')
        && path
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != ".." && !c.contains('\0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_safe_and_distinct() {
        assert_eq!(slug("csat"), "csat");
        assert_eq!(slug("support-ops"), "support-ops");
        assert_eq!(slug("../etc/passwd"), "~2e~2e~2fetc~2fpasswd");
        assert_ne!(slug("a.b"), slug("a_b"));
        assert!(is_safe(&metric("../../x")));
        assert!(is_safe(&metric("")));
        assert!(!is_safe("../x"));
        assert!(!is_safe("/x"));
        assert!(!is_safe("a//b"));
        assert_eq!(root_of("metrics/csat.html"), "../");
        assert_eq!(root_of("index.html"), "");
    }
}
