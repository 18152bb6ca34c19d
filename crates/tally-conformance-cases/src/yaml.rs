//! Reading saphyr's YAML trees: scalars as text, lists, booleans, mappings.

use std::fs;
use std::path::{Path, PathBuf};

use saphyr::{LoadableYamlNode, Scalar, Yaml};

pub(crate) fn yaml_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let rd = fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let mut out = Vec::new();
    for entry in rd {
        let path = entry.map_err(|e| format!("{}: {e}", dir.display()))?.path();
        let is_yaml = matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml") | Some("yml")
        );
        if is_yaml && path.is_file() {
            out.push(path);
        }
    }
    Ok(out)
}

pub(crate) fn load_yaml_file(path: &Path) -> Result<Vec<Yaml<'static>>, String> {
    let text =
        fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    // Loading from `&str` goes through a char iterator, so nothing borrows from `text`.
    Yaml::load_from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

pub(crate) fn untag<'a, 'b>(y: &'a Yaml<'b>) -> &'a Yaml<'b> {
    match y {
        Yaml::Tagged(_, inner) => untag(inner),
        other => other,
    }
}

pub(crate) fn scalar<'a, 'b>(y: &'a Yaml<'b>) -> Option<&'a Scalar<'b>> {
    match untag(y) {
        Yaml::Value(s) => Some(s),
        _ => None,
    }
}

pub(crate) fn is_null(y: &Yaml) -> bool {
    matches!(scalar(y), Some(Scalar::Null)) || matches!(untag(y), Yaml::BadValue)
}

/// Any non-null scalar as text (`True` for booleans, as Python's YAML would print them).
pub(crate) fn scalar_string(y: &Yaml) -> Option<String> {
    match untag(y) {
        Yaml::Representation(s, _, _) => Some(s.to_string()),
        Yaml::Value(s) => match s {
            Scalar::Null => None,
            Scalar::Boolean(b) => Some(if *b { "True" } else { "False" }.to_string()),
            Scalar::Integer(i) => Some(i.to_string()),
            Scalar::FloatingPoint(f) => Some(f.to_string()),
            Scalar::String(s) => Some(s.to_string()),
        },
        _ => None,
    }
}

pub(crate) fn opt_string(y: &Yaml) -> Result<Option<String>, String> {
    if is_null(y) {
        return Ok(None);
    }
    scalar_string(y)
        .map(Some)
        .ok_or_else(|| "not a string".to_string())
}

pub(crate) fn string_list(y: &Yaml) -> Result<Vec<String>, String> {
    match untag(y) {
        Yaml::Sequence(items) => items
            .iter()
            .map(|i| scalar_string(i).ok_or_else(|| "list item is not a string".to_string()))
            .collect(),
        v if is_null(v) => Ok(Vec::new()),
        _ => Err("not a list".into()),
    }
}

pub(crate) fn bool_value(y: &Yaml) -> Result<bool, String> {
    match scalar(y) {
        Some(Scalar::Boolean(b)) => Ok(*b),
        Some(Scalar::String(s)) => match s.to_ascii_lowercase().as_str() {
            "true" | "yes" => Ok(true),
            "false" | "no" => Ok(false),
            _ => Err(format!("not a boolean: {s:?}")),
        },
        _ => Err("not a boolean".into()),
    }
}

pub(crate) fn mapping_entries<'a, 'b>(y: &'a Yaml<'b>) -> Option<Vec<(String, &'a Yaml<'b>)>> {
    match untag(y) {
        Yaml::Mapping(map) => map
            .iter()
            .map(|(k, v)| scalar_string(k).map(|k| (k, v)))
            .collect(),
        _ => None,
    }
}
