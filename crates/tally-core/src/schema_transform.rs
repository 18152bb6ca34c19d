//! The schemars transforms the spec types name in their `#[schemars(transform = ...)]` attributes:
//! the shorthand forms the loader accepts (a string or a boolean for a whole object). They live
//! here, below `spec`, so that `spec` does not import `schema`, which is generated from `spec`.

use schemars::Schema;
use serde_json::{json, Map};

/// schemars transform for `str_or_map:` structs: a plain string stands for `{name: <string>}`.
pub(crate) fn or_name_string(schema: &mut Schema) {
    let object = std::mem::take(schema).to_value();
    let mut outer = Map::new();
    if let Some(d) = object.get("description") {
        outer.insert("description".into(), d.clone());
    }
    outer.insert(
        "anyOf".into(),
        json!([{"type": "string", "description": "the name alone"}, object]),
    );
    *schema = Schema::from(outer);
}

/// schemars transform for `type_or_map:` structs: a plain string stands for `{type: <string>}`.
pub(crate) fn or_type_string(schema: &mut Schema) {
    let object = std::mem::take(schema).to_value();
    let type_schema = object["properties"]["type"].clone();
    let mut outer = Map::new();
    if let Some(d) = object.get("description") {
        outer.insert("description".into(), d.clone());
    }
    outer.insert(
        "anyOf".into(),
        json!([{"description": "the type alone", "allOf": [type_schema]}, object]),
    );
    *schema = Schema::from(outer);
}

/// schemars transform for `bool_or_map:` structs: a boolean stands for `{enabled: <bool>}`.
pub(crate) fn or_bool(schema: &mut Schema) {
    let object = std::mem::take(schema).to_value();
    let mut outer = Map::new();
    if let Some(d) = object.get("description") {
        outer.insert("description".into(), d.clone());
    }
    outer.insert(
        "anyOf".into(),
        json!([{"type": "boolean", "description": "enabled or not"}, object]),
    );
    *schema = Schema::from(outer);
}
