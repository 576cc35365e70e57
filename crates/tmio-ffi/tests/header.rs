//! `include/tmio.h` is written by hand: this test checks it against `src/lib.rs`, so the two
//! cannot drift apart. Every `extern "C"` function of the library must be declared in the header
//! with the same name, return type and parameters (types and names), and no other function may
//! be declared; every `TMIO_*` constant must have the same value in both; the listener struct
//! must have the same fields in the same order with the same types.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::collections::BTreeMap;

const HEADER: &str = include_str!("../include/tmio.h");
const SOURCE: &str = include_str!("../src/lib.rs");

/// Collapses whitespace and spells pointers one way: `tmio_proxy * p` -> `tmio_proxy *p`.
fn normalise_c(text: &str) -> String {
    let text = one_line(text);
    text.replace(" *", "*")
        .replace('*', " *")
        .replace("* ", "*")
        .replace("( *", "(*")
}

/// Collapses whitespace, and the spaces and trailing commas rustfmt puts inside brackets.
fn one_line(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace("( ", "(")
        .replace("< ", "<")
        .replace(", )", ")")
        .replace(",)", ")")
        .replace(", >", ">")
        .replace(",>", ">")
        .trim()
        .to_owned()
}

/// The C spelling of a Rust type used at the boundary.
fn c_type(rust: &str) -> String {
    let rust = one_line(rust);
    let (prefix, base) = if let Some(base) = rust.strip_prefix("*const ") {
        ("const ", base)
    } else if let Some(base) = rust.strip_prefix("*mut ") {
        ("", base)
    } else {
        return match rust.as_str() {
            "c_int" => "int",
            "c_longlong" => "long long",
            "i64" => "int64_t",
            "u16" => "uint16_t",
            "u8" => "uint8_t",
            "usize" => "size_t",
            "bool" => "bool",
            "()" => "void",
            other => panic!("no C spelling known for the Rust type {other:?}"),
        }
        .to_owned();
    };
    let base = match base {
        "c_char" => "char",
        "c_void" => "void",
        other => other,
    };
    format!("{prefix}{base} *")
}

/// `name(type name, ...)` of a C parameter list, normalised.
fn c_parameter(rust_parameter: &str) -> String {
    let (name, rust_type) = rust_parameter.split_once(':').unwrap();
    normalise_c(&format!("{} {}", c_type(rust_type.trim()), name.trim()))
}

/// Every `pub (unsafe) extern "C" fn` of the source, as a normalised C prototype.
fn rust_functions() -> BTreeMap<String, String> {
    let mut functions = BTreeMap::new();
    let mut rest = SOURCE;
    while let Some(start) = rest.find("extern \"C\" fn tmio_") {
        let declaration = &rest[start + "extern \"C\" fn ".len()..];
        let body = declaration.find('{').unwrap();
        let signature = &declaration[..body];
        let (name, after_name) = signature.split_once('(').unwrap();
        let close = after_name.rfind(')').unwrap();
        let parameters = after_name[..close]
            .split(',')
            .map(str::trim)
            .filter(|parameter| !parameter.is_empty())
            .map(c_parameter)
            .collect::<Vec<_>>();
        let return_type = after_name[close + 1..]
            .trim()
            .strip_prefix("->")
            .map_or_else(|| "void".to_owned(), |ty| c_type(ty.trim()));
        let parameters = if parameters.is_empty() {
            "void".to_owned()
        } else {
            parameters.join(", ")
        };
        let prototype = normalise_c(&format!("{return_type} {name}({parameters})"));
        assert!(functions.insert(name.to_owned(), prototype).is_none());
        rest = &declaration[body..];
    }
    functions
}

/// Every function prototype of the header (outside comments and preprocessor lines),
/// normalised.
fn header_functions() -> BTreeMap<String, String> {
    let code = without_comments(HEADER)
        .lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n");
    let mut functions = BTreeMap::new();
    for statement in code.split(';') {
        let statement = normalise_c(statement);
        // What follows the last `}` (the end of `extern "C" {` or of a struct).
        let statement = statement[statement.rfind('}').map_or(0, |brace| brace + 1)..].trim();
        // A prototype ends in `)`; typedefs and function-pointer fields are not prototypes.
        if statement.contains("typedef") || statement.contains("(*") || !statement.ends_with(')') {
            continue;
        }
        let open = statement.find('(').unwrap();
        let name_start = statement[..open].rfind([' ', '*']).map_or(0, |i| i + 1);
        let name = statement[name_start..open].to_owned();
        assert!(
            functions.insert(name, statement.to_owned()).is_none(),
            "declared twice: {statement}"
        );
    }
    functions
}

fn without_comments(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    loop {
        let block = rest.find("/*");
        let line = rest.find("//");
        match (block, line) {
            (Some(b), l) if l.is_none_or(|l| b < l) => {
                out.push_str(&rest[..b]);
                let end = rest[b..].find("*/").unwrap();
                rest = &rest[b + end + 2..];
            }
            (_, Some(l)) => {
                out.push_str(&rest[..l]);
                rest = rest[l..].find('\n').map_or("", |end| &rest[l + end..]);
            }
            _ => {
                out.push_str(rest);
                return out;
            }
        }
    }
}

#[test]
fn every_function_is_declared_with_the_same_signature() {
    let rust = rust_functions();
    let header = header_functions();
    assert!(rust.len() >= 11, "found only {rust:?}");
    assert_eq!(
        rust.keys().collect::<Vec<_>>(),
        header.keys().collect::<Vec<_>>(),
        "the header and the library declare different functions"
    );
    for (name, prototype) in &rust {
        assert_eq!(&header[name], prototype, "{name}: header vs library");
    }
}

/// Every `#define TMIO_NAME value` of the header.
fn header_constants() -> BTreeMap<String, i32> {
    let mut header = BTreeMap::new();
    for line in HEADER.lines() {
        if let Some(rest) = line.trim().strip_prefix("#define TMIO_") {
            let Some((name, value)) = rest.split_once(' ') else {
                continue;
            };
            let value: i32 = value
                .trim()
                .trim_start_matches('(')
                .trim_end_matches(')')
                .parse()
                .unwrap();
            assert!(header.insert(format!("TMIO_{name}"), value).is_none());
        }
    }
    header
}

/// `pub const NAME: TYPE = VALUE;` lines of `text`, as `(prefix + NAME, VALUE)`.
fn rust_constants(text: &str, prefix: &str) -> BTreeMap<String, i32> {
    let mut constants = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.trim().strip_prefix("pub const ") {
            let (name, value) = rest.split_once(':').unwrap();
            let value = value
                .split_once('=')
                .unwrap()
                .1
                .trim()
                .trim_end_matches(';');
            constants.insert(format!("{prefix}{name}"), value.parse().unwrap());
        }
    }
    constants
}

#[test]
fn every_constant_has_the_same_value() {
    let header = header_constants();
    let (codes, own): (BTreeMap<_, _>, BTreeMap<_, _>) = header
        .into_iter()
        .partition(|(name, _)| name.starts_with("TMIO_CODE_"));

    // The boundary's own codes and the error types: as in src/lib.rs.
    let rust = rust_constants(SOURCE, "");
    assert!(rust.len() >= 8, "found only {rust:?}");
    assert_eq!(own, rust);

    // tmio's error codes: as in tmio-proxy's `code` module, every one of them.
    let error_rs = include_str!("../../tmio-proxy/src/error.rs");
    let module = &error_rs[error_rs.find("pub mod code {").unwrap()..];
    let module = &module[..module.find("\n}").unwrap()];
    let proxy_codes = rust_constants(module, "TMIO_CODE_");
    assert_eq!(proxy_codes["TMIO_CODE_OPTION"], tmio_proxy::code::OPTION);
    assert_eq!(
        proxy_codes["TMIO_CODE_INTERNAL"],
        tmio_proxy::code::INTERNAL
    );
    assert!(proxy_codes.len() >= 20, "found only {proxy_codes:?}");
    assert_eq!(codes, proxy_codes);
}

/// The fields of Rust's `pub struct NAME { ... }` and of the header's `typedef struct { ... }
/// NAME;`, as C declarations.
fn struct_fields(name: &str) -> (Vec<String>, Vec<String>) {
    let start = SOURCE.find(&format!("pub struct {name} {{")).unwrap();
    let body = &SOURCE[start..];
    let body = &body[body.find('{').unwrap() + 1..body.find("\n}").unwrap()];
    let body = body
        .lines()
        .filter(|line| !line.trim_start().starts_with("///"))
        .collect::<String>();
    let mut rust_fields = Vec::new();
    let mut depth = 0;
    let mut field = String::new();
    for c in body.chars() {
        match c {
            '(' | '<' => depth += 1,
            ')' | '>' => depth -= 1,
            ',' if depth == 0 => {
                rust_fields.push(rust_field_to_c(&field));
                field.clear();
                continue;
            }
            _ => {}
        }
        field.push(c);
    }
    if !field.trim().is_empty() {
        rust_fields.push(rust_field_to_c(&field));
    }
    let code = without_comments(HEADER);
    let end = code.find(&format!("}} {name};")).unwrap();
    let open = code[..end].rfind('{').unwrap();
    let c_fields = code[open + 1..end]
        .split(';')
        .map(normalise_c)
        .filter(|field| !field.is_empty())
        .collect::<Vec<_>>();
    (rust_fields, c_fields)
}

#[test]
fn the_listener_and_bonding_structs_have_the_same_fields() {
    for name in ["tmio_proxy_listener", "tmio_link", "tmio_bonding_config"] {
        let (rust_fields, c_fields) = struct_fields(name);
        assert!(!rust_fields.is_empty(), "{name}");
        assert_eq!(rust_fields, c_fields, "{name}");
    }
}

/// `name: Option<unsafe extern "C" fn(a: T, ...)>` -> `void (*name)(T a, ...)`;
/// `name: T` -> `T name`.
fn rust_field_to_c(field: &str) -> String {
    let field = one_line(field);
    let field = field.trim().trim_start_matches("pub ").to_owned();
    let (name, rust_type) = field.split_once(':').unwrap();
    let rust_type = rust_type.trim();
    if let Some(function) = rust_type
        .strip_prefix("Option<unsafe extern \"C\" fn(")
        .and_then(|rest| rest.strip_suffix(")>"))
    {
        let parameters = function
            .split(',')
            .map(str::trim)
            .filter(|parameter| !parameter.is_empty())
            .map(c_parameter)
            .collect::<Vec<_>>()
            .join(", ");
        normalise_c(&format!("void (*{})({parameters})", name.trim()))
    } else {
        normalise_c(&format!("{} {}", c_type(rust_type), name.trim()))
    }
}
