//! Any option name and value (the SDK's names, libsrt's URI keys, SRTO_ names, or garbage), as an
//! app's `set_by_name` or a URL query's `apply_uri_option` would pass them: never a panic; a value
//! that was accepted reads back by the same name, and setting what was read back is accepted again
//! and reads back the same (setters and getters agree).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tmio_preset::Options;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (name, value) = text.split_once('=').unwrap_or((text, ""));
    let mut options = Options::new();
    let _ = options.apply_uri_option(name, value);
    if options.set_by_name(name, value).is_ok() {
        let read = options
            .get_by_name(name)
            .unwrap_or_else(|e| panic!("{name:?} was set but does not read back: {e}"));
        let mut again = Options::new();
        again
            .set_value_by_name(name, read.clone())
            .unwrap_or_else(|e| panic!("{name:?}: its own value {read:?} is refused: {e}"));
        assert_eq!(again.get_by_name(name).ok(), Some(read), "{name:?}");
    }
});
