//! Percent-encoding of query values and decoding of URL parts.

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, CONTROLS};

use crate::Error;

/// Bytes encoded in a printed query value: controls, space, the characters that delimit or
/// escape query items (`%`, `&`), `+` (some tools decode it as a space) and those that are
/// unsafe in URLs. `#`, `!`, `:`, `,`, `=`, `/` and `?` stay as they are so access-control
/// stream ids print as people write them. Non-ASCII is always encoded.
const QUERY_VALUE: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'%')
    .add(b'&')
    .add(b'+')
    .add(b'<')
    .add(b'>')
    .add(b'\\')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// Percent-encodes a decoded query value for printing.
pub(crate) fn encode_query_value(text: &str) -> String {
    utf8_percent_encode(text, QUERY_VALUE).to_string()
}

/// Percent-decodes one URL part; `%` not followed by two hex digits is kept literally.
pub(crate) fn decode(raw: &str) -> Result<String, Error> {
    percent_decode_str(raw)
        .decode_utf8()
        .map(|text| text.into_owned())
        .map_err(|_| Error::InvalidUtf8 {
            part: raw.to_owned(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_control_ids_print_unencoded() {
        let id = "#!::h=push.example.com,r=live/test,txSecret=abc,txTime=5F000000";
        assert_eq!(encode_query_value(id), id);
    }

    #[test]
    fn delimiters_and_non_ascii_are_encoded_and_decode_back() {
        let text = "a&b c%d+e\u{e9}\u{65e5}\n";
        let encoded = encode_query_value(text);
        assert_eq!(encoded, "a%26b%20c%25d%2Be%C3%A9%E6%97%A5%0A");
        assert_eq!(decode(&encoded).unwrap(), text);
    }

    #[test]
    fn stray_percent_is_literal_and_bad_utf8_is_an_error() {
        assert_eq!(decode("100%").unwrap(), "100%");
        assert_eq!(decode("%zz").unwrap(), "%zz");
        assert_eq!(
            decode("%ff"),
            Err(Error::InvalidUtf8 { part: "%ff".into() })
        );
    }
}
