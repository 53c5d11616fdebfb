//! tcpstat-json(5): the JSON documents, key by key, generated from the JSON Schemas under
//! `docs/schema/` (embedded at build time). Those schemas are validated against real output
//! by `tests/integration/schemas.rs`, so the page cannot drift from what tcpstat prints
//! either.
//!
//! A schema is walked in its own key order (the order of the documents), which
//! `serde_json::Value` does not keep without its `preserve_order` feature: the schemas are
//! read into [`Json`], an ordered tree of their own. Shared `$defs` (the same name is the
//! same definition in every schema; checked) are described once, under DEFINITIONS.

use std::fmt;

use clap_mangen::roff::{bold, roman, Inline};
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use super::man::Page;
use super::Generated;

/// The schemas, in the order the page lists the documents.
const SCHEMAS: [&str; 14] = [
    include_str!("../../docs/schema/summary.schema.json"),
    include_str!("../../docs/schema/ports.schema.json"),
    include_str!("../../docs/schema/procs.schema.json"),
    include_str!("../../docs/schema/workloads.schema.json"),
    include_str!("../../docs/schema/health.schema.json"),
    include_str!("../../docs/schema/list.schema.json"),
    include_str!("../../docs/schema/list-row.schema.json"),
    include_str!("../../docs/schema/list-end.schema.json"),
    include_str!("../../docs/schema/watch-tick.schema.json"),
    include_str!("../../docs/schema/watch-event.schema.json"),
    include_str!("../../docs/schema/watch-error.schema.json"),
    include_str!("../../docs/schema/doctor.schema.json"),
    include_str!("../../docs/schema/history.schema.json"),
    include_str!("../../docs/schema/history-at.schema.json"),
];

/// The widest tag (key and type) of a tagged paragraph that fits on its line: 80 columns
/// less the section's indentation.
const TAG_WIDTH: usize = 73;

/// The file names of [`SCHEMAS`], for the test that every schema is on the page.
#[cfg(test)]
const SCHEMA_FILES: [&str; 14] = [
    "summary",
    "ports",
    "procs",
    "workloads",
    "health",
    "list",
    "list-row",
    "list-end",
    "watch-tick",
    "watch-event",
    "watch-error",
    "doctor",
    "history",
    "history-at",
];

const DESCRIPTION: &[&str] = &[
    "With --json (or --format json), tcpstat summary, ports, procs, workloads, health, list, doctor and history print one \
     JSON object. tcpstat list --ndjson prints one object per line instead, one per socket, \
     then an end line; tcpstat watch --json prints one object per tick (NDJSON), with \
     --events one more per socket that entered or left a watched state, and an error line \
     when a collection failed. Every document carries schema_version, 2 here: a change that \
     could break a reader bumps it.",
    "Each document is described below key by key, made from its JSON Schema (draft \
     2020-12), which the source ships in docs/schema/ and its tests validate real output \
     against. A key a.b is key b of the object a; a[] stands for every element of the array \
     a. The JSON type follows the key: null when the key may be null, a literal when it has \
     one value, one of a list when it has a few; see NAME refers to the values several \
     documents share, described under DEFINITIONS; optional when the key may be absent \
     (the description says when), else it is always there.",
];

/// A JSON value that keeps its objects' key order.
#[derive(Debug, Clone, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    Number(String),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn str(&self, key: &str) -> Option<&str> {
        match self.get(key)? {
            Json::String(s) => Some(s),
            _ => None,
        }
    }

    fn array(&self, key: &str) -> &[Json] {
        match self.get(key) {
            Some(Json::Array(items)) => items,
            _ => &[],
        }
    }

    fn entries(&self, key: &str) -> &[(String, Json)] {
        match self.get(key) {
            Some(Json::Object(entries)) => entries,
            _ => &[],
        }
    }
}

/// A value as JSON writes it: how `const` and `enum` values are shown.
impl fmt::Display for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Json::Null => f.write_str("null"),
            Json::Bool(b) => write!(f, "{b}"),
            Json::Number(n) => f.write_str(n),
            Json::String(s) => write!(f, "\"{s}\""),
            Json::Array(_) | Json::Object(_) => f.write_str("..."),
        }
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Json, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_bool<E>(self, b: bool) -> Result<Json, E> {
        Ok(Json::Bool(b))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Json, E> {
        Ok(Json::Number(n.to_string()))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Json, E> {
        Ok(Json::Number(n.to_string()))
    }

    fn visit_f64<E>(self, n: f64) -> Result<Json, E> {
        Ok(Json::Number(n.to_string()))
    }

    fn visit_str<E>(self, s: &str) -> Result<Json, E> {
        Ok(Json::String(s.to_owned()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = map.next_entry()? {
            entries.push(entry);
        }
        Ok(Json::Object(entries))
    }
}

fn parse(schema: &str) -> Json {
    serde_json::from_str(schema).expect("docs/schema/ holds valid JSON")
}

/// The definition a `$ref` names (`#/$defs/NAME`).
fn ref_name(node: &Json) -> Option<&str> {
    node.str("$ref")?.strip_prefix("#/$defs/")
}

/// Every schema's `$defs`, each name once (the same name is the same definition in every
/// schema: panics otherwise), in the order first met.
fn definitions(schemas: &[Json]) -> Vec<(String, Json)> {
    let mut defs: Vec<(String, Json)> = Vec::new();
    for schema in schemas {
        for (name, def) in schema.entries("$defs") {
            match defs.iter().find(|(n, _)| n == name) {
                Some((_, known)) => assert_eq!(
                    known, def,
                    "docs/schema/: two different definitions named {name}"
                ),
                None => defs.push((name.clone(), def.clone())),
            }
        }
    }
    defs
}

/// Walks schemas into man page entries, resolving `$ref`s against the definitions.
struct Writer<'a> {
    page: Page,
    defs: &'a [(String, Json)],
}

impl Writer<'_> {
    fn def(&self, name: &str) -> &Json {
        self.defs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, d)| d)
            .unwrap_or_else(|| panic!("docs/schema/: no definition {name}"))
    }

    /// The JSON type of `node` in one word or two (`object`, `string or null`), what a
    /// reference to it says besides its name.
    fn kind_of(&self, node: &Json) -> String {
        if let Some(name) = ref_name(node) {
            return self.kind_of(self.def(name));
        }
        let mut kinds: Vec<String> = match node.get("type") {
            Some(Json::String(t)) => vec![t.clone()],
            Some(Json::Array(ts)) => ts.iter().map(|t| t.to_string().replace('"', "")).collect(),
            _ => Vec::new(),
        };
        for value in node.array("enum").iter().chain(node.get("const")) {
            let kind = match value {
                Json::String(_) => "string",
                Json::Number(_) => "number",
                Json::Bool(_) => "boolean",
                Json::Null => "null",
                Json::Array(_) => "array",
                Json::Object(_) => "object",
            };
            if !kinds.iter().any(|k| k == kind) {
                kinds.push(kind.to_owned());
            }
        }
        for form in node.array("oneOf") {
            let kind = self.kind_of(form);
            if !kinds.contains(&kind) {
                kinds.push(kind);
            }
        }
        if kinds.is_empty() {
            "any".into()
        } else {
            kinds.join(" or ")
        }
    }

    /// The JSON type of `node`, in a few words: `integer or null`, `"socket"`, `one of ...`,
    /// `array of string`, `object, see states`.
    fn type_of(&self, node: &Json) -> String {
        if let Some(name) = ref_name(node) {
            return format!("{}, see {name}", self.kind_of(self.def(name)));
        }
        if let Some(value) = node.get("const") {
            return value.to_string();
        }
        let choices = node.array("enum");
        if !choices.is_empty() {
            let values: Vec<String> = choices.iter().map(ToString::to_string).collect();
            return format!("one of {}", values.join(", "));
        }
        let forms = node.array("oneOf");
        if !forms.is_empty() {
            let mut types: Vec<String> = Vec::new();
            for form in forms {
                let t = self.type_of(form);
                if !types.contains(&t) {
                    types.push(t);
                }
            }
            return types.join(" or ");
        }
        let types: Vec<&str> = match node.get("type") {
            Some(Json::String(t)) => vec![t.as_str()],
            Some(Json::Array(ts)) => ts
                .iter()
                .filter_map(|t| match t {
                    Json::String(s) => Some(s.as_str()),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        let words: Vec<String> = types
            .iter()
            .map(|t| match *t {
                "array" => match node.get("items") {
                    Some(items) if items.get("properties").is_some() => "array of objects".into(),
                    Some(items) => format!("array of {}", self.type_of(items)),
                    None => "array".into(),
                },
                "string" => match node.str("format") {
                    Some(format) => format!("string ({format})"),
                    None => "string".into(),
                },
                "integer" => match (node.get("minimum"), node.get("maximum")) {
                    (Some(min), Some(max)) => format!("integer, {min} to {max}"),
                    _ => "integer".into(),
                },
                other => other.to_owned(),
            })
            .collect();
        if words.is_empty() {
            "any".into()
        } else {
            words.join(" or ")
        }
    }

    /// One key: its path and type, then what it is. `required`: whether its object always
    /// has it.
    fn entry(&mut self, path: &str, node: &Json, required: bool, note: Option<&str>) {
        let mut kind = self.type_of(node);
        if !required {
            kind.push_str("; optional");
        }
        let mut text = String::new();
        if let Some(note) = note {
            text.push_str(note);
            text.push(' ');
        }
        text.push_str(node.str("description").unwrap_or(""));
        if let Some(forms) = Writer::forms_note(node) {
            text.push(' ');
            text.push_str(&forms);
        }
        // A tag wider than the line would wrap, and the text would start on its last line:
        // the type goes below instead.
        let tag: Vec<Inline> = if path.len() + kind.len() + 3 <= TAG_WIDTH {
            vec![bold(path), roman(format!(" ({kind})"))]
        } else {
            text = format!("({kind}) {text}");
            vec![bold(path)]
        };
        self.page.tagged(tag, [roman(text.trim_end().to_owned())]);
    }

    /// The keys under `node`, whose own key is `path` (empty at a document's top).
    fn children(&mut self, path: &str, node: &Json) {
        let required = node.array("required");
        for (key, child) in node.entries("properties") {
            let always = required.contains(&Json::String(key.clone()));
            let key = if key.contains('.') {
                format!("[\"{key}\"]")
            } else {
                key.clone()
            };
            let child_path = match (path.is_empty(), key.starts_with('[')) {
                (true, _) | (false, true) => format!("{path}{key}"),
                (false, false) => format!("{path}.{key}"),
            };
            self.entry(&child_path, child, always, None);
            self.children(&child_path, child);
        }
        if let Some(items) = node.get("items") {
            self.children(&format!("{path}[]"), items);
        }
        self.forms(path, node);
    }

    /// The keys of a `oneOf`'s objects. One object (beside null or a reference): its keys, as
    /// any object's. Several: each key once, with the forms it belongs to, numbered as the
    /// note on the key itself lists them.
    fn forms(&mut self, path: &str, node: &Json) {
        let objects: Vec<&Json> = node
            .array("oneOf")
            .iter()
            .filter(|f| f.get("properties").is_some())
            .collect();
        if objects.len() < 2 {
            for form in objects {
                self.children(path, form);
            }
            return;
        }
        // Key, its schema, whether its forms always have it, and the forms (1-based) that
        // have it with that schema.
        let mut keys: Vec<(&str, &Json, bool, Vec<usize>)> = Vec::new();
        for (i, form) in objects.iter().enumerate() {
            let required = form.array("required");
            for (key, child) in form.entries("properties") {
                let always = required.contains(&Json::String(key.clone()));
                match keys.iter_mut().find(|(k, c, _, _)| k == key && *c == child) {
                    Some((_, _, all, forms)) => {
                        *all &= always;
                        forms.push(i + 1);
                    }
                    None => keys.push((key, child, always, vec![i + 1])),
                }
            }
        }
        for (key, child, always, forms) in keys {
            let forms: Vec<String> = forms.iter().map(ToString::to_string).collect();
            let note = if forms.len() == objects.len() {
                "(every form)".to_owned()
            } else {
                format!("(form {})", forms.join(", "))
            };
            let child_path = format!("{path}.{key}");
            self.entry(&child_path, child, always, Some(&note));
            self.children(&child_path, child);
        }
    }

    /// What a `oneOf` of several objects says of itself: its forms, numbered.
    fn forms_note(node: &Json) -> Option<String> {
        let objects: Vec<&Json> = node
            .array("oneOf")
            .iter()
            .filter(|f| f.get("properties").is_some())
            .collect();
        if objects.len() < 2 {
            return None;
        }
        let forms: Vec<String> = objects
            .iter()
            .enumerate()
            .map(|(i, f)| format!("({}) {}", i + 1, f.str("description").unwrap_or("")))
            .collect();
        Some(format!(
            "One of {} forms: {}",
            objects.len(),
            forms.join(" ")
        ))
    }
}

/// tcpstat-json(5).
pub(super) fn page() -> Generated {
    let schemas: Vec<Json> = SCHEMAS.iter().map(|s| parse(s)).collect();
    let defs = definitions(&schemas);
    let mut w = Writer {
        page: Page::new(),
        defs: &defs,
    };
    w.page.title("TCPSTAT-JSON", "5", "File Formats");
    w.page.heading("NAME");
    w.page.paragraph([roman(
        "tcpstat-json - the JSON documents of tcpstat (schema_version 2)",
    )]);
    w.page.heading("DESCRIPTION");
    for paragraph in DESCRIPTION {
        w.page.paragraph([roman(*paragraph)]);
    }
    w.page.heading("DOCUMENTS");
    for schema in &schemas {
        w.page.subheading(schema.str("title").unwrap_or("tcpstat"));
        w.page
            .paragraph([roman(schema.str("description").unwrap_or(""))]);
        w.children("", schema);
    }
    w.page.heading("DEFINITIONS");
    for (name, def) in &defs {
        w.page.subheading(name);
        let mut text = format!("({}) ", w.type_of(def));
        text.push_str(def.str("description").unwrap_or(""));
        if let Some(note) = Writer::forms_note(def) {
            text.push(' ');
            text.push_str(&note);
        }
        w.page.paragraph([roman(text)]);
        w.children(name, def);
    }
    w.page.heading("SEE ALSO");
    w.page.references(&[
        "tcpstat(1)",
        "tcpstat-summary(1)",
        "tcpstat-list(1)",
        "tcpstat-watch(1)",
        "tcpstat-doctor(1)",
        "jq(1)",
    ]);
    Generated {
        dir: "man",
        name: "tcpstat-json.5".to_owned(),
        bytes: w.page.render().into_bytes(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_schema_file_is_on_the_page() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/schema");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .expect("docs/schema/")
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter_map(|n| n.strip_suffix(".schema.json").map(str::to_owned))
            .collect();
        on_disk.sort();
        let mut listed: Vec<String> = SCHEMA_FILES.iter().map(|s| (*s).to_owned()).collect();
        listed.sort();
        assert_eq!(
            on_disk, listed,
            "SCHEMAS must list every file of docs/schema/"
        );
        for (file, text) in SCHEMA_FILES.iter().zip(SCHEMAS) {
            let id = parse(text).str("$id").map(str::to_owned);
            assert!(
                id.as_deref()
                    .is_some_and(|id| id.ends_with(&format!(":{file}"))),
                "{file}: {id:?}"
            );
        }
    }

    #[test]
    fn keys_keep_their_order_and_every_key_is_described() {
        let page = String::from_utf8(page().bytes).expect("utf-8");
        let summary = parse(SCHEMAS[0]);
        let keys: Vec<&str> = summary
            .entries("properties")
            .iter()
            .map(|(k, _)| k.as_str())
            .collect();
        assert_eq!(&keys[..3], ["schema_version", "timestamp", "hostname"]);
        let at = |key: &str| {
            let tag = format!("\n\\fB{}\\fR", key.replace('-', "\\-"));
            page.find(&tag)
                .unwrap_or_else(|| panic!("{key} is not on the page"))
        };
        assert!(at("schema_version") < at("timestamp"));
        for key in [
            "families.ipv4.states",
            "unknown_states[].state_value",
            "findings[].subject.pid",
            "ports[].listener.backlog",
        ] {
            at(key);
        }
        for (name, _) in definitions(&[summary]) {
            assert!(page.contains(&format!(".SS {name}\n")), "{name}");
        }
    }

    /// Every key named anywhere in a schema (properties, at any depth, in items, forms and
    /// definitions).
    fn keys(node: &Json, out: &mut Vec<String>) {
        match node {
            Json::Object(entries) => {
                for (key, child) in entries {
                    if let ("properties" | "$defs", Json::Object(named)) = (key.as_str(), child) {
                        out.extend(named.iter().map(|(k, _)| k.clone()));
                    }
                    keys(child, out);
                }
            }
            Json::Array(items) => items.iter().for_each(|i| keys(i, out)),
            _ => {}
        }
    }

    #[test]
    fn every_key_of_every_schema_is_on_the_page() {
        let page = String::from_utf8(page().bytes).expect("utf-8");
        let mut all = Vec::new();
        for schema in SCHEMAS {
            keys(&parse(schema), &mut all);
        }
        assert!(all.len() > 250, "{}", all.len());
        for key in all {
            let roff = key.replace('-', "\\-");
            assert!(
                page.contains(&format!(".{roff}\\fR"))
                    || page.contains(&format!("\\fB{roff}\\fR"))
                    || page.contains(&format!(".SS {roff}\n"))
                    || page.contains(&format!("[\"{roff}\"]\\fR")),
                "{key} is not on the page"
            );
        }
    }

    #[test]
    fn types_read_as_words() {
        let defs = Vec::new();
        let w = Writer {
            page: Page::new(),
            defs: &defs,
        };
        let t = |json: &str| w.type_of(&parse(json));
        assert_eq!(t(r#"{"type": ["integer", "null"]}"#), "integer or null");
        assert_eq!(t(r#"{"const": 2}"#), "2");
        assert_eq!(t(r#"{"enum": ["in", "out"]}"#), "one of \"in\", \"out\"");
        assert_eq!(
            t(r#"{"type": "array", "items": {"type": "string"}}"#),
            "array of string"
        );
        assert_eq!(
            t(r#"{"type": "string", "format": "date-time"}"#),
            "string (date-time)"
        );
        assert_eq!(
            t(r#"{"type": "integer", "minimum": 0, "maximum": 65535}"#),
            "integer, 0 to 65535"
        );
        assert_eq!(
            t(r#"{"oneOf": [{"type": "null"}, {"type": "object"}]}"#),
            "null or object"
        );
    }
}
