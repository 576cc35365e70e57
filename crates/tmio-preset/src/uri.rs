//! Overrides from `srt://` URL query options (libsrt URI keys).

use tmio_url::SrtUrl;

use crate::options::{no_such_option, parse_value};
use crate::{Error, OptionName, Options, RefusedOption};

/// URL query keys that describe the connection rather than an option of it: the transport
/// reads them from the [`SrtUrl`] itself, and [`Options::apply_url`] leaves them alone.
pub const URL_CONNECTION_KEYS: [&str; 6] = [
    "mode",
    "adapter",
    "port",
    "groupconnect",
    "groupminstabletimeo",
    "weight",
];

/// The order in which libsrt's applications apply URL options: `transtype` first (it loads
/// mode defaults), then `latency` (so `rcvlatency` and `peerlatency` refine it), then the rest.
fn application_rank(key: &str) -> u8 {
    match OptionName::from_uri_key(key) {
        Some(OptionName::TransmissionType) => 0,
        Some(OptionName::Latency) => 1,
        _ => 2,
    }
}

impl Options {
    /// Applies one libsrt URI query option (`latency`, `tlpktdrop`, `passphrase`, ... see
    /// `docs/options.md`), value as decoded text. An unknown key or a bad value is an error.
    pub fn apply_uri_option(&mut self, key: &str, value: &str) -> Result<(), Error> {
        let refused_or_unknown = || match RefusedOption::find(key) {
            Some(refused) if refused.uri_key.eq_ignore_ascii_case(key) => {
                no_such_option(key, value)
            }
            _ => Error::unknown_option(key, value),
        };
        let name = OptionName::from_uri_key(key).ok_or_else(refused_or_unknown)?;
        self.set(name, parse_value(name, value)?)
    }

    /// Applies libsrt URI query options over these options — `transtype` first (so its mode
    /// defaults never undo the others), then `latency` (so `rcvlatency`/`peerlatency` refine
    /// it), then the rest in the order given, as libsrt's applications do — then checks the
    /// result with [`Options::validate`]. On error, options applied before it stay applied.
    pub fn apply_uri_options<'a, I>(&mut self, options: I) -> Result<(), Error>
    where
        I: IntoIterator<Item = (&'a str, &'a str)>,
    {
        let mut options: Vec<(&str, &str)> = options.into_iter().collect();
        // A stable sort keeps the given order within each rank.
        options.sort_by_key(|(key, _)| application_rank(key));
        for (key, value) in options {
            self.apply_uri_option(key, value)?;
        }
        self.validate()
    }

    /// Applies the query options of an `srt://` URL over these options (see
    /// [`Options::apply_uri_options`]), then validates. The connection keys
    /// ([`URL_CONNECTION_KEYS`]: mode, adapter, port, group settings) are left to the transport.
    /// A URL option these options do not model is an [`Error::UrlOption`], never ignored.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tmio_preset::{Options, Preset};
    ///
    /// let url: tmio_url::SrtUrl =
    ///     "srt://example.com:9000?latency=250&tlpktdrop=1&mode=caller".parse()?;
    /// let mut options = Options::from_preset(Preset::mpegts_fixed_latency())?;
    /// options.apply_url(&url)?;
    /// assert_eq!(options.latency(), Duration::from_millis(250));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn apply_url(&mut self, url: &SrtUrl) -> Result<(), Error> {
        let options: Vec<(&'static str, String)> = url
            .options()
            .iter()
            .map(|(key, text)| (key.name(), text))
            .filter(|(key, _)| !URL_CONNECTION_KEYS.contains(key))
            .collect();
        for (key, text) in &options {
            if OptionName::from_uri_key(key).is_none() {
                if let Some(refused) =
                    RefusedOption::find(key).filter(|refused| refused.uri_key == *key)
                {
                    return Err(Error::Refused {
                        option: refused.name,
                        value: text.clone(),
                        reason: refused.reason,
                    });
                }
                return Err(Error::UrlOption {
                    key: (*key).to_owned(),
                    value: if tmio_url::is_secret_name(key) {
                        tmio_url::HIDDEN.to_owned()
                    } else {
                        text.clone()
                    },
                    reason: "tmio-preset does not model this option".to_owned(),
                });
            }
        }
        self.apply_uri_options(options.iter().map(|(key, text)| (*key, text.as_str())))
    }
}
