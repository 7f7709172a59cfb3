//! An independent check of server output against the upstream Conjure definition
//! (`spec/conjure-subset.json`), so "every frame parses with the upstream types" does not
//! rest only on our own generated serde types.
//!
//! Strict where a server can be: unknown fields, unknown union variants and unknown enum
//! values are errors, required fields must be present and non-null, primitives must have
//! their Conjure encoding (safelong range, `"NaN"`-style doubles, RFC 3339 datetimes, uuids).

use serde_json::Value;
use std::collections::HashMap;
use std::sync::OnceLock;

/// The parsed definition: types by `package.Name`, errors by `Namespace:Name`.
pub struct Definition {
    types: HashMap<String, Value>,
    errors: HashMap<String, DeclaredError>,
}

/// An error declared upstream.
#[derive(Debug, Clone)]
pub struct DeclaredError {
    /// Conjure code, e.g. `INVALID_ARGUMENT`.
    pub code: String,
    /// Every safe and unsafe argument name.
    pub args: Vec<String>,
}

/// The definition, loaded once per test binary.
pub fn definition() -> &'static Definition {
    static DEF: OnceLock<Definition> = OnceLock::new();
    DEF.get_or_init(|| {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../spec/conjure-subset.json"
        );
        let text = std::fs::read_to_string(path).expect("read spec/conjure-subset.json");
        let ir: Value = serde_json::from_str(&text).expect("conjure-subset.json is JSON");
        let mut types = HashMap::new();
        for t in ir["types"].as_array().expect("types array") {
            let kind = t["type"].as_str().expect("type kind");
            let name = &t[kind]["typeName"];
            let key = format!(
                "{}.{}",
                name["package"].as_str().expect("package"),
                name["name"].as_str().expect("name")
            );
            types.insert(key, t.clone());
        }
        let mut errors = HashMap::new();
        for e in ir["errors"].as_array().expect("errors array") {
            let name = format!(
                "{}:{}",
                e["namespace"].as_str().expect("namespace"),
                e["errorName"]["name"].as_str().expect("error name")
            );
            let args = ["safeArgs", "unsafeArgs"]
                .iter()
                .flat_map(|k| e[*k].as_array().cloned().unwrap_or_default())
                .filter_map(|a| a["fieldName"].as_str().map(str::to_string))
                .collect();
            errors.insert(
                name,
                DeclaredError {
                    code: e["code"].as_str().expect("code").to_string(),
                    args,
                },
            );
        }
        Definition { types, errors }
    })
}

impl Definition {
    /// The upstream declaration of an error name, if any.
    pub fn error(&self, name: &str) -> Option<&DeclaredError> {
        self.errors.get(name)
    }

    /// Checks `value` against the named type (`package.Name`).
    pub fn check(&self, type_name: &str, value: &Value) -> Result<(), String> {
        self.check_named(type_name, value, "$")
    }

    fn check_named(&self, type_name: &str, value: &Value, path: &str) -> Result<(), String> {
        let def = self
            .types
            .get(type_name)
            .ok_or_else(|| format!("{path}: type {type_name} is not in the definition"))?;
        let kind = def["type"].as_str().unwrap_or_default();
        let body = &def[kind];
        match kind {
            "alias" => self.check_ref(&body["alias"], value, path),
            "enum" => {
                let s = value
                    .as_str()
                    .ok_or_else(|| format!("{path}: enum {type_name} must be a string"))?;
                let known = body["values"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|v| v["value"].as_str() == Some(s));
                if known {
                    Ok(())
                } else {
                    Err(format!("{path}: `{s}` is not a value of enum {type_name}"))
                }
            }
            "object" => {
                let obj = value
                    .as_object()
                    .ok_or_else(|| format!("{path}: object {type_name} must be a JSON object"))?;
                let fields = body["fields"].as_array().cloned().unwrap_or_default();
                for key in obj.keys() {
                    if !fields.iter().any(|f| f["fieldName"].as_str() == Some(key)) {
                        return Err(format!("{path}: unknown field `{key}` in {type_name}"));
                    }
                }
                for f in &fields {
                    let name = f["fieldName"].as_str().unwrap_or_default();
                    let fpath = format!("{path}.{name}");
                    match obj.get(name) {
                        None | Some(Value::Null) => {
                            if !self.may_be_absent(&f["type"]) {
                                return Err(format!(
                                    "{fpath}: required field of {type_name} missing"
                                ));
                            }
                        }
                        Some(v) => self.check_ref(&f["type"], v, &fpath)?,
                    }
                }
                Ok(())
            }
            "union" => {
                let obj = value
                    .as_object()
                    .ok_or_else(|| format!("{path}: union {type_name} must be a JSON object"))?;
                let variant = obj
                    .get("type")
                    .and_then(Value::as_str)
                    .ok_or_else(|| format!("{path}: union {type_name} without `type`"))?;
                let member = body["union"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|m| m["fieldName"].as_str() == Some(variant))
                    .ok_or_else(|| {
                        format!("{path}: `{variant}` is not a variant of union {type_name}")
                    })?;
                for key in obj.keys() {
                    if key != "type" && key != variant {
                        return Err(format!("{path}: stray key `{key}` in union {type_name}"));
                    }
                }
                let vpath = format!("{path}.{variant}");
                match obj.get(variant) {
                    None | Some(Value::Null) => {
                        if self.may_be_absent(&member["type"]) {
                            Ok(())
                        } else {
                            Err(format!("{vpath}: union {type_name} value missing"))
                        }
                    }
                    Some(v) => self.check_ref(&member["type"], v, &vpath),
                }
            }
            other => Err(format!("{path}: unsupported type kind {other}")),
        }
    }

    /// Optional fields and collections may be absent or null on the wire.
    fn may_be_absent(&self, t: &Value) -> bool {
        match t["type"].as_str() {
            Some("optional" | "list" | "set" | "map") => true,
            Some("reference") => {
                let key = reference_key(t);
                match self.types.get(&key) {
                    Some(def) if def["type"] == "alias" => {
                        self.may_be_absent(&def["alias"]["alias"])
                    }
                    _ => false,
                }
            }
            Some("external") => self.may_be_absent(&t["external"]["fallback"]),
            _ => false,
        }
    }

    fn check_ref(&self, t: &Value, value: &Value, path: &str) -> Result<(), String> {
        match t["type"].as_str().unwrap_or_default() {
            "primitive" => {
                check_primitive(t["primitive"].as_str().unwrap_or_default(), value, path)
            }
            "optional" => match value {
                Value::Null => Ok(()),
                v => self.check_ref(&t["optional"]["itemType"], v, path),
            },
            "list" | "set" => {
                let kind = t["type"].as_str().unwrap_or_default();
                let items = value
                    .as_array()
                    .ok_or_else(|| format!("{path}: {kind} must be a JSON array"))?;
                for (i, item) in items.iter().enumerate() {
                    self.check_ref(&t[kind]["itemType"], item, &format!("{path}[{i}]"))?;
                }
                Ok(())
            }
            "map" => {
                let obj = value
                    .as_object()
                    .ok_or_else(|| format!("{path}: map must be a JSON object"))?;
                for (k, v) in obj {
                    let kpath = format!("{path}[{k}]");
                    self.check_key(&t["map"]["keyType"], k, &kpath)?;
                    self.check_ref(&t["map"]["valueType"], v, &kpath)?;
                }
                Ok(())
            }
            "reference" => self.check_named(&reference_key(t), value, path),
            "external" => self.check_ref(&t["external"]["fallback"], value, path),
            other => Err(format!("{path}: unsupported type reference {other}")),
        }
    }

    /// Map keys are strings on the wire; check they encode the key type.
    fn check_key(&self, t: &Value, key: &str, path: &str) -> Result<(), String> {
        match t["type"].as_str().unwrap_or_default() {
            "primitive" => match t["primitive"].as_str().unwrap_or_default() {
                "INTEGER" => key
                    .parse::<i32>()
                    .map(|_| ())
                    .map_err(|_| format!("{path}: map key `{key}` is not an integer")),
                "UUID" => uuid::Uuid::parse_str(key)
                    .map(|_| ())
                    .map_err(|_| format!("{path}: map key `{key}` is not a uuid")),
                _ => Ok(()),
            },
            "reference" => {
                let key_type = reference_key(t);
                match self.types.get(&key_type) {
                    Some(def) if def["type"] == "alias" => {
                        self.check_key(&def["alias"]["alias"], key, path)
                    }
                    Some(_) => self.check_named(&key_type, &Value::String(key.to_string()), path),
                    None => Err(format!("{path}: key type {key_type} unknown")),
                }
            }
            _ => Ok(()),
        }
    }
}

fn reference_key(t: &Value) -> String {
    format!(
        "{}.{}",
        t["reference"]["package"].as_str().unwrap_or_default(),
        t["reference"]["name"].as_str().unwrap_or_default()
    )
}

fn check_primitive(p: &str, value: &Value, path: &str) -> Result<(), String> {
    let bad = |what: &str| Err(format!("{path}: expected {what}, got {value}"));
    match p {
        "STRING" | "RID" | "BEARERTOKEN" | "BINARY" => match value {
            Value::String(_) => Ok(()),
            _ => bad("a string"),
        },
        "DATETIME" => match value.as_str().map(chrono::DateTime::parse_from_rfc3339) {
            Some(Ok(_)) => Ok(()),
            _ => bad("an RFC 3339 datetime"),
        },
        "UUID" => match value.as_str().map(uuid::Uuid::parse_str) {
            Some(Ok(_)) => Ok(()),
            _ => bad("a uuid"),
        },
        "BOOLEAN" => match value {
            Value::Bool(_) => Ok(()),
            _ => bad("a boolean"),
        },
        "INTEGER" => match value.as_i64() {
            Some(v) if i32::try_from(v).is_ok() => Ok(()),
            _ => bad("a 32-bit integer"),
        },
        "SAFELONG" => match value.as_i64() {
            Some(v) if v.abs() < (1 << 53) => Ok(()),
            _ => bad("a safelong"),
        },
        "DOUBLE" => match value {
            Value::Number(_) => Ok(()),
            Value::String(s) if ["NaN", "Infinity", "-Infinity"].contains(&s.as_str()) => Ok(()),
            _ => bad("a double"),
        },
        "ANY" => match value {
            Value::Null => bad("a non-null value"),
            _ => Ok(()),
        },
        other => Err(format!("{path}: unknown primitive {other}")),
    }
}

/// `package.Name` of the types the tests check most.
pub const SERVER_MESSAGE: &str = "io.nominal.persistent.compute.api.ServerMessage";
/// The HTTP compute response.
pub const COMPUTE_NODE_RESPONSE: &str = "io.nominal.scout.compute.api.ComputeNodeResponse";
/// The units response.
pub const COMPUTE_UNIT_RESULT: &str = "io.nominal.scout.compute.api.ComputeUnitResult";
