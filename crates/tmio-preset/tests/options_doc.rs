//! `docs/options.md` shows the option table as `OPTION_TABLE` and `REFUSED_OPTIONS` hold it.
//! `TMIO_BLESS=1 cargo test -p tmio-preset --test options_doc` rewrites the block.
#![allow(clippy::unwrap_used, clippy::panic)]

use tmio_preset::{OPTION_TABLE, REFUSED_OPTIONS};

const BEGIN: &str =
    "<!-- option-table: begin (generated from OPTION_TABLE, see tests/options_doc.rs) -->\n";
const END: &str = "<!-- option-table: end -->\n";

fn cell(text: &str) -> String {
    if text.is_empty() {
        "—".to_owned()
    } else {
        text.replace('|', "\\|")
    }
}

fn code(text: &str) -> String {
    if text.is_empty() {
        "—".to_owned()
    } else {
        format!("`{}`", text.replace('|', "\\|"))
    }
}

fn rendered() -> String {
    let mut out = String::from(BEGIN);
    out.push_str(
        "| name | whose | libsrt URI key | libsrt option | unit | values | default | in tmio |\n",
    );
    out.push_str("|---|---|---|---|---|---|---|---|\n");
    for spec in &OPTION_TABLE {
        let mut meaning = spec.description.to_owned();
        if !spec.refusal.is_empty() {
            meaning.push_str(&format!(" Refused otherwise: {}.", spec.refusal));
        }
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
            code(spec.sdk_name),
            if spec.tmio_name { "tmio" } else { "SDK" },
            code(spec.uri_key),
            code(spec.srt_option),
            cell(spec.unit),
            cell(spec.expected),
            cell(if spec.libsrt_default.is_empty() {
                "(empty)"
            } else {
                spec.libsrt_default
            }),
            cell(&meaning),
        ));
    }
    for refused in &REFUSED_OPTIONS {
        out.push_str(&format!(
            "| {} | {} | {} | {} | — | refused | — | Refused: {}. |\n",
            code(refused.name),
            if refused.tmio_name { "tmio" } else { "SDK" },
            code(refused.uri_key),
            code(refused.srt_option),
            cell(refused.reason),
        ));
    }
    out.push_str(END);
    out
}

#[test]
fn the_doc_table_is_the_option_table() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/options.md");
    let doc = std::fs::read_to_string(path).unwrap();
    let (Some(begin), Some(end)) = (doc.find(BEGIN), doc.find(END)) else {
        panic!("docs/options.md has no generated option table (markers missing)");
    };
    let current = &doc[begin..end + END.len()];
    let expected = rendered();
    if current != expected {
        if std::env::var_os("TMIO_BLESS").is_some() {
            let updated = format!("{}{}{}", &doc[..begin], expected, &doc[end + END.len()..]);
            std::fs::write(path, updated).unwrap();
        } else {
            panic!(
                "docs/options.md's option table differs from OPTION_TABLE; run \
                 TMIO_BLESS=1 cargo test -p tmio-preset --test options_doc\n{expected}"
            );
        }
    }
}
