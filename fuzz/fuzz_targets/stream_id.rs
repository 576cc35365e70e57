//! Any text as a stream id: parsing never panics; a parsed id prints back to exactly the
//! same text, and carried in an srt:// URL it survives print -> parse unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tmio_url::{Host, SrtOptions, SrtUrl, StreamId};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(id) = StreamId::parse(text) else {
        return;
    };
    assert_eq!(id.to_string(), text);
    assert_eq!(StreamId::parse(&id.to_string()).ok().as_ref(), Some(&id));
    assert_eq!(text.starts_with("#!::"), id.access_control().is_some());

    let mut options = SrtOptions::new();
    options.streamid = Some(id.clone());
    let url = SrtUrl::new(Some(Host::Name("example.com".into())), 9000, options)
        .unwrap_or_else(|e| panic!("a parsed stream id {text:?} is refused: {e}"));
    let printed = url.to_string();
    let reparsed = SrtUrl::parse(&printed)
        .unwrap_or_else(|e| panic!("{text:?} in {printed:?} fails to parse: {e}"));
    assert_eq!(reparsed.stream_id(), Some(&id), "{printed:?}");
});
