#!/usr/bin/env python3
"""Generates crates/wire/src/generated/*.rs from spec/conjure-subset.json.

One Rust module per Conjure package. Objects become plain serde structs, enums become
strict serde enums, unions go through the `conjure_union!` macro (crates/wire/src/conjure/union.rs),
which keeps unknown variants with their JSON. Run from the repository root:

    python3 tools/gen_wire.py && cargo fmt
"""
import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPEC = os.path.join(ROOT, "spec", "conjure-subset.json")
OUT = os.path.join(ROOT, "crates", "wire", "src", "generated")

RESERVED = {"type", "ref", "match", "fn", "mod", "use", "self", "super", "crate", "struct",
            "enum", "impl", "trait", "where", "loop", "while", "for", "in", "if", "else",
            "let", "const", "static", "move", "return", "box", "as", "break", "continue",
            "extern", "false", "true", "pub", "unsafe", "async", "await", "dyn", "abstract",
            "final", "override", "macro", "priv", "typeof", "unsized", "virtual", "yield",
            "try", "gen"}


def module_of(package):
    name = package.removeprefix("io.nominal.").removesuffix(".api")
    return name.replace(".", "_") if name != "api" else "api"


def snake(name):
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", s).lower()
    return "r#" + s if s in RESERVED else s


def pascal(name):
    out = name[0].upper() + name[1:]
    return re.sub(r"_([a-z0-9])", lambda m: m.group(1).upper(), out)


def upper_to_pascal(value):
    return "".join(p.capitalize() for p in value.lower().split("_")) or "Empty"


def doc_lines(text, indent=""):
    if not text:
        return []
    lines = [l.rstrip() for l in text.strip().splitlines()]
    return [f"{indent}///" + (" " + l if l else "") for l in lines]


spec = json.load(open(SPEC))
types = {}
for entry in spec["types"]:
    body = entry[entry["type"]]
    tn = body["typeName"]
    types[(tn["package"], tn["name"])] = (entry["type"], body)


def resolve(ty):
    """Follows aliases to their target type."""
    while ty["type"] == "reference":
        key = (ty["reference"]["package"], ty["reference"]["name"])
        kind, body = types[key]
        if kind != "alias":
            return ty
        ty = body["alias"]
    return ty


PRIMS = {"STRING": "String", "DOUBLE": "crate::conjure::Double", "INTEGER": "i32",
         "SAFELONG": "crate::conjure::SafeLong", "BOOLEAN": "bool", "RID": "String",
         "UUID": "uuid::Uuid", "DATETIME": "crate::conjure::DateTime",
         "BINARY": "crate::conjure::Binary", "ANY": "serde_json::Value",
         "BEARERTOKEN": "String"}


def ref_path(ref, here):
    mod = module_of(ref["package"])
    return ref["name"] if mod == here else f"crate::{mod}::{ref['name']}"


def rust_type(ty, here, boxed=False):
    ty = resolve(ty)
    k = ty["type"]
    if k == "primitive":
        return PRIMS[ty["primitive"]]
    if k == "reference":
        path = ref_path(ty["reference"], here)
        return f"Box<{path}>" if boxed else path
    if k == "optional":
        return f"Option<{rust_type(ty['optional']['itemType'], here, boxed)}>"
    if k in ("list", "set"):
        return f"Vec<{rust_type(ty[k]['itemType'], here)}>"
    if k == "map":
        return (f"std::collections::BTreeMap<{rust_type(ty['map']['keyType'], here)}, "
                f"{rust_type(ty['map']['valueType'], here)}>")
    if k == "external":
        return "serde_json::Value"
    raise SystemExit(f"unknown type kind {k}")


def direct_refs(ty):
    """References reachable without a heap-allocating collection in between."""
    ty = resolve(ty)
    if ty["type"] == "reference":
        return [(ty["reference"]["package"], ty["reference"]["name"])]
    if ty["type"] == "optional":
        return direct_refs(ty["optional"]["itemType"])
    return []


# Strongly connected components over direct edges decide where a Box breaks a cycle.
edges = {}
for key, (kind, body) in types.items():
    members = body.get("fields", []) if kind == "object" else body.get("union", []) if kind == "union" else []
    edges[key] = [r for m in members for r in direct_refs(m["type"])]

sys.setrecursionlimit(10000)
index, low, on_stack, stack, scc_of = {}, {}, set(), [], {}
counter = [0]


def strongconnect(v):
    index[v] = low[v] = counter[0]
    counter[0] += 1
    stack.append(v)
    on_stack.add(v)
    for w in edges.get(v, []):
        if w not in index:
            strongconnect(w)
            low[v] = min(low[v], low[w])
        elif w in on_stack:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        while True:
            w = stack.pop()
            on_stack.discard(w)
            scc_of[w] = v
            if w == v:
                break


for v in types:
    if v not in index:
        strongconnect(v)


def needs_box(owner, ty):
    return any(scc_of.get(r) == scc_of[owner] for r in direct_refs(ty))


def field_attrs(ty):
    """Serde attributes for a struct field of this Conjure type."""
    r = resolve(ty)
    k = r["type"]
    if k == "primitive" and r["primitive"] == "DOUBLE":
        return ['#[serde(with = "crate::conjure::double")]']
    if k == "optional":
        inner = resolve(r["optional"]["itemType"])
        attrs = ["default", 'skip_serializing_if = "Option::is_none"']
        if inner["type"] == "primitive" and inner["primitive"] == "DOUBLE":
            attrs.append('with = "crate::conjure::opt_double"')
        return [f"#[serde({', '.join(attrs)})]"]
    if k in ("list", "set"):
        inner = resolve(r[k]["itemType"])
        if inner["type"] == "primitive" and inner["primitive"] == "DOUBLE":
            return ['#[serde(default, skip_serializing_if = "Vec::is_empty", with = "crate::conjure::vec_double")]']
        return ['#[serde(default, skip_serializing_if = "Vec::is_empty", deserialize_with = "crate::conjure::null_as_default")]']
    if k == "map":
        return ['#[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty", deserialize_with = "crate::conjure::null_as_default")]']
    return []


def field_type(owner, ty, here):
    r = resolve(ty)
    boxed = needs_box(owner, ty)
    if r["type"] == "primitive" and r["primitive"] == "DOUBLE":
        return "f64"
    if r["type"] == "optional":
        inner = resolve(r["optional"]["itemType"])
        if inner["type"] == "primitive" and inner["primitive"] == "DOUBLE":
            return "Option<f64>"
    if r["type"] in ("list", "set"):
        inner = resolve(r[r["type"]]["itemType"])
        if inner["type"] == "primitive" and inner["primitive"] == "DOUBLE":
            return "Vec<f64>"
    return rust_type(ty, here, boxed)


def gen_object(key, body, here):
    name = body["typeName"]["name"]
    out = doc_lines(body.get("docs")) or [f"/// Upstream object `{name}`."]
    out.append("#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]")
    out.append(f"pub struct {name} {{")
    for f in body["fields"]:
        fname = f["fieldName"]
        out += doc_lines(f.get("docs"), "    ") or [f"    /// Upstream field `{fname}`."]
        out += ["    " + a for a in field_attrs(f["type"])]
        out.append(f'    #[serde(rename = "{fname}")]')
        out.append(f"    pub {snake(fname)}: {field_type(key, f['type'], here)},")
    out.append("}")
    return out


def gen_enum(body):
    name = body["typeName"]["name"]
    out = doc_lines(body.get("docs")) or [f"/// Upstream enum `{name}`."]
    out.append("#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]")
    out.append(f"pub enum {name} {{")
    for v in body["values"]:
        out += doc_lines(v.get("docs"), "    ") or [f"    /// `{v['value']}`"]
        out.append(f'    #[serde(rename = "{v["value"]}")]')
        out.append(f"    {upper_to_pascal(v['value'])},")
    out.append("}")
    out.append(f"impl {name} {{")
    out.append("    /// The upstream wire name of this value.")
    out.append("    pub fn as_str(self) -> &'static str {")
    out.append("        match self {")
    for v in body["values"]:
        out.append(f'            Self::{upper_to_pascal(v["value"])} => "{v["value"]}",')
    out.append("        }")
    out.append("    }")
    out.append("}")
    return out


def gen_union(key, body, here):
    name = body["typeName"]["name"]
    out = ["crate::conjure_union! {"]
    out += ["    " + l for l in (doc_lines(body.get("docs")) or [f"/// Upstream union `{name}`."])]
    out.append(f"    pub enum {name} {{")
    for v in body["union"]:
        tag = v["fieldName"]
        out += doc_lines(v.get("docs"), "        ") or [f"        /// Variant `{tag}`."]
        ty = rust_type(v["type"], here, needs_box(key, v["type"]))
        out.append(f'        "{tag}" => {pascal(tag)}({ty}),')
    out.append("    }")
    out.append("}")
    return out


def gen_alias(body, here):
    name = body["typeName"]["name"]
    out = doc_lines(body.get("docs")) or [f"/// Upstream alias `{name}`."]
    out.append(f"pub type {name} = {rust_type(body['alias'], here)};")
    return out


by_module = {}
for key, (kind, body) in sorted(types.items()):
    by_module.setdefault(module_of(key[0]), (key[0], []))[1].append((key, kind, body))

os.makedirs(OUT, exist_ok=True)
for mod, (package, items) in sorted(by_module.items()):
    lines = [f"//! Types of the upstream `{package}` package.",
             "//!",
             "//! Generated by `tools/gen_wire.py` from `spec/conjure-subset.json`; do not edit.",
             "#![allow(missing_docs, clippy::large_enum_variant, clippy::doc_lazy_continuation, rustdoc::all)]",
             "",
             "use serde::{Deserialize, Serialize};",
             ""]
    for key, kind, body in items:
        if kind == "object":
            lines += gen_object(key, body, mod)
        elif kind == "enum":
            lines += gen_enum(body)
        elif kind == "union":
            lines += gen_union(key, body, mod)
        elif kind == "alias":
            lines += gen_alias(body, mod)
        lines.append("")
    if "use serde::" in "\n".join(lines) and not any("Serialize" in l for l in lines[7:]):
        lines[5] = ""
    with open(os.path.join(OUT, f"{mod}.rs"), "w") as fh:
        fh.write("\n".join(lines))

with open(os.path.join(OUT, "mod.rs"), "w") as fh:
    fh.write("//! Generated upstream types, one module per Conjure package.\n\n")
    for mod, (package, _) in sorted(by_module.items()):
        fh.write(f"/// `{package}`\npub mod {mod};\n")
print("generated", sum(len(i) for _, i in by_module.values()), "types into", OUT)
