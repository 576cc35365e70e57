//! SRT stream ids, including libsrt's access-control syntax `#!::key=value,…`.

use std::fmt;
use std::str::FromStr;

use crate::Error;

/// libsrt's limit on `SRTO_STREAMID`, in bytes.
pub const MAX_STREAM_ID_LEN: usize = 512;

/// The prefix that marks the access-control syntax.
pub const ACCESS_CONTROL_PREFIX: &str = "#!::";

/// An SRT stream id (`SRTO_STREAMID`).
///
/// A stream id that starts with `#!::` is parsed as libsrt's access-control syntax; any other is
/// kept verbatim. Printing gives back the text that was parsed.
///
/// ```
/// use tmio_url::{AccessMode, StreamId};
/// let id: StreamId = "#!::r=live/livestream,m=publish".parse()?;
/// let access = id.access_control().expect("#!:: syntax");
/// assert_eq!(access.resource(), Some("live/livestream"));
/// assert_eq!(access.mode(), Some(AccessMode::Publish));
/// assert_eq!(id.to_string(), "#!::r=live/livestream,m=publish");
/// # Ok::<(), tmio_url::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum StreamId {
    /// `#!::key=value,…`, items in the order given.
    AccessControl(AccessControl),
    /// Any other stream id, kept as is (never starts with `#!::`).
    Verbatim(String),
}

impl StreamId {
    /// Parses a stream id (already percent-decoded).
    pub fn parse(text: &str) -> Result<Self, Error> {
        if text.len() > MAX_STREAM_ID_LEN {
            return Err(Error::StreamIdTooLong { length: text.len() });
        }
        match text.strip_prefix(ACCESS_CONTROL_PREFIX) {
            Some(items) => AccessControl::parse_items(items).map(StreamId::AccessControl),
            None => Ok(StreamId::Verbatim(text.to_owned())),
        }
    }

    /// A verbatim stream id; an error if it is too long or would read back as `#!::` syntax.
    pub fn verbatim(text: impl Into<String>) -> Result<Self, Error> {
        let text = text.into();
        if text.len() > MAX_STREAM_ID_LEN {
            return Err(Error::StreamIdTooLong { length: text.len() });
        }
        if text.starts_with(ACCESS_CONTROL_PREFIX) {
            // Such text must go through the access-control parser so it prints back the same.
            return Self::parse(&text);
        }
        Ok(StreamId::Verbatim(text))
    }

    /// The access-control items, if the stream id uses the `#!::` syntax.
    pub fn access_control(&self) -> Option<&AccessControl> {
        match self {
            StreamId::AccessControl(access) => Some(access),
            StreamId::Verbatim(_) => None,
        }
    }

    /// Checks the limits a parsed stream id always meets (length, reserved characters).
    pub fn validate(&self) -> Result<(), Error> {
        let text = self.to_string();
        match Self::parse(&text) {
            Ok(parsed) if parsed == *self => Ok(()),
            Ok(_) => Err(Error::InvalidOptionValue {
                key: "streamid",
                value: text,
                expected: crate::ValueKind::StreamId,
            }),
            Err(error) => Err(error),
        }
    }
}

impl FromStr for StreamId {
    type Err = Error;
    fn from_str(text: &str) -> Result<Self, Error> {
        Self::parse(text)
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StreamId::AccessControl(access) => write!(f, "{access}"),
            StreamId::Verbatim(text) => f.write_str(text),
        }
    }
}

/// The `t=` key: what kind of resource the connection is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResourceType {
    /// `stream`: a live stream (libsrt's default).
    Stream,
    /// `file`: a file transfer.
    File,
    /// `auth`: authentication only, no data.
    Auth,
}

impl ResourceType {
    /// The value as written in a stream id.
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceType::Stream => "stream",
            ResourceType::File => "file",
            ResourceType::Auth => "auth",
        }
    }
}

/// The `m=` key: which way the data flows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccessMode {
    /// `request`: the caller receives (plays) the resource (libsrt's default).
    Request,
    /// `publish`: the caller sends (pushes) the resource.
    Publish,
    /// `bidirectional`: both ways.
    Bidirectional,
}

impl AccessMode {
    /// The value as written in a stream id.
    pub fn as_str(self) -> &'static str {
        match self {
            AccessMode::Request => "request",
            AccessMode::Publish => "publish",
            AccessMode::Bidirectional => "bidirectional",
        }
    }
}

/// One `key=value` item of an access-control stream id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Item {
    /// `u=`: user name.
    User(String),
    /// `r=`: resource name (e.g. `live/test`).
    Resource(String),
    /// `h=`: host (virtual host) name.
    Host(String),
    /// `s=`: session id.
    SessionId(String),
    /// `t=`: resource type.
    Type(ResourceType),
    /// `m=`: access mode.
    Mode(AccessMode),
    /// Any other key, e.g. Tencent's `txSecret` and `txTime`.
    Other {
        /// The key (non-empty; no `,` or `=`).
        key: String,
        /// The value (no `,`).
        value: String,
    },
}

impl Item {
    /// The key as written.
    pub fn key(&self) -> &str {
        match self {
            Item::User(_) => "u",
            Item::Resource(_) => "r",
            Item::Host(_) => "h",
            Item::SessionId(_) => "s",
            Item::Type(_) => "t",
            Item::Mode(_) => "m",
            Item::Other { key, .. } => key,
        }
    }

    /// The value as written.
    pub fn value(&self) -> &str {
        match self {
            Item::User(v) | Item::Resource(v) | Item::Host(v) | Item::SessionId(v) => v,
            Item::Type(t) => t.as_str(),
            Item::Mode(m) => m.as_str(),
            Item::Other { value, .. } => value,
        }
    }

    /// Builds an item from a key and a value, typing the standard keys.
    pub fn new(key: &str, value: &str) -> Result<Self, Error> {
        if key.is_empty() {
            return Err(Error::StreamIdEmptyKey {
                item: format!("{key}={value}"),
            });
        }
        for character in [',', '='] {
            if key.contains(character) {
                return Err(Error::StreamIdForbiddenCharacter {
                    what: "key",
                    text: key.to_owned(),
                    character,
                });
            }
        }
        if value.contains(',') {
            return Err(Error::StreamIdForbiddenCharacter {
                what: "value",
                text: value.to_owned(),
                character: ',',
            });
        }
        Ok(match key {
            "u" => Item::User(value.to_owned()),
            "r" => Item::Resource(value.to_owned()),
            "h" => Item::Host(value.to_owned()),
            "s" => Item::SessionId(value.to_owned()),
            "t" => Item::Type(match value {
                "stream" => ResourceType::Stream,
                "file" => ResourceType::File,
                "auth" => ResourceType::Auth,
                _ => {
                    return Err(Error::StreamIdInvalidType {
                        value: value.to_owned(),
                    })
                }
            }),
            "m" => Item::Mode(match value {
                "request" => AccessMode::Request,
                "publish" => AccessMode::Publish,
                "bidirectional" => AccessMode::Bidirectional,
                _ => {
                    return Err(Error::StreamIdInvalidMode {
                        value: value.to_owned(),
                    })
                }
            }),
            _ => Item::Other {
                key: key.to_owned(),
                value: value.to_owned(),
            },
        })
    }
}

/// The items of a `#!::key=value,…` stream id, in the order given; each key appears once.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct AccessControl {
    items: Vec<Item>,
}

impl AccessControl {
    /// An empty item list (prints as `#!::`).
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses the text after `#!::`.
    fn parse_items(text: &str) -> Result<Self, Error> {
        let mut access = AccessControl::new();
        if text.is_empty() {
            return Ok(access);
        }
        for raw in text.split(',') {
            let (key, value) =
                raw.split_once('=')
                    .ok_or_else(|| Error::StreamIdItemWithoutValue {
                        item: raw.to_owned(),
                    })?;
            if key.is_empty() {
                return Err(Error::StreamIdEmptyKey {
                    item: raw.to_owned(),
                });
            }
            access.push(Item::new(key, value)?)?;
        }
        Ok(access)
    }

    /// Appends an item; an error if its key is already present.
    pub fn push(&mut self, item: Item) -> Result<(), Error> {
        if self
            .items
            .iter()
            .any(|existing| existing.key() == item.key())
        {
            return Err(Error::StreamIdDuplicateKey {
                key: item.key().to_owned(),
            });
        }
        self.items.push(item);
        Ok(())
    }

    /// The items in order.
    pub fn items(&self) -> &[Item] {
        &self.items
    }

    /// The value of any key, as written.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.items
            .iter()
            .find(|item| item.key() == key)
            .map(Item::value)
    }

    /// `u=`: the user name.
    pub fn user(&self) -> Option<&str> {
        self.get("u")
    }

    /// `r=`: the resource name.
    pub fn resource(&self) -> Option<&str> {
        self.get("r")
    }

    /// `h=`: the host name.
    pub fn host(&self) -> Option<&str> {
        self.get("h")
    }

    /// `s=`: the session id.
    pub fn session_id(&self) -> Option<&str> {
        self.get("s")
    }

    /// `t=`: the resource type, if given.
    pub fn resource_type(&self) -> Option<ResourceType> {
        self.items.iter().find_map(|item| match item {
            Item::Type(t) => Some(*t),
            _ => None,
        })
    }

    /// `m=`: the access mode, if given.
    pub fn mode(&self) -> Option<AccessMode> {
        self.items.iter().find_map(|item| match item {
            Item::Mode(m) => Some(*m),
            _ => None,
        })
    }
}

impl fmt::Display for AccessControl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(ACCESS_CONTROL_PREFIX)?;
        for (index, item) in self.items.iter().enumerate() {
            if index > 0 {
                f.write_str(",")?;
            }
            write!(f, "{}={}", item.key(), item.value())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tencent_form_round_trips_exactly() {
        let text = "#!::h=push.example.com,r=live/test,txSecret=abc,txTime=5F000000";
        let id = StreamId::parse(text).unwrap();
        let access = id.access_control().unwrap();
        assert_eq!(access.host(), Some("push.example.com"));
        assert_eq!(access.resource(), Some("live/test"));
        assert_eq!(access.get("txSecret"), Some("abc"));
        assert_eq!(access.get("txTime"), Some("5F000000"));
        assert_eq!(id.to_string(), text);
    }

    #[test]
    fn every_standard_key_is_typed() {
        let id = StreamId::parse("#!::u=alice,r=live/a,h=example.com,s=42,t=file,m=bidirectional")
            .unwrap();
        let access = id.access_control().unwrap();
        assert_eq!(access.user(), Some("alice"));
        assert_eq!(access.resource(), Some("live/a"));
        assert_eq!(access.host(), Some("example.com"));
        assert_eq!(access.session_id(), Some("42"));
        assert_eq!(access.resource_type(), Some(ResourceType::File));
        assert_eq!(access.mode(), Some(AccessMode::Bidirectional));
        assert_eq!(access.items().len(), 6);
        for (text, t) in [
            ("stream", ResourceType::Stream),
            ("file", ResourceType::File),
            ("auth", ResourceType::Auth),
        ] {
            let id = StreamId::parse(&format!("#!::t={text}")).unwrap();
            assert_eq!(id.access_control().unwrap().resource_type(), Some(t));
        }
        for (text, m) in [
            ("request", AccessMode::Request),
            ("publish", AccessMode::Publish),
            ("bidirectional", AccessMode::Bidirectional),
        ] {
            let id = StreamId::parse(&format!("#!::m={text}")).unwrap();
            assert_eq!(id.access_control().unwrap().mode(), Some(m));
        }
    }

    #[test]
    fn values_may_contain_equals_and_be_empty() {
        let id = StreamId::parse("#!::r=a=b,u=").unwrap();
        let access = id.access_control().unwrap();
        assert_eq!(access.resource(), Some("a=b"));
        assert_eq!(access.user(), Some(""));
        assert_eq!(id.to_string(), "#!::r=a=b,u=");
    }

    #[test]
    fn anything_without_the_prefix_is_verbatim() {
        for text in [
            "",
            "live/test",
            "#!:r=x",
            "#!:{r=x}",
            "r=a,m=publish",
            "日本語",
        ] {
            assert_eq!(
                StreamId::parse(text).unwrap(),
                StreamId::Verbatim(text.into())
            );
        }
        assert_eq!(
            StreamId::parse("#!::").unwrap(),
            StreamId::AccessControl(AccessControl::new())
        );
    }

    #[test]
    fn length_limit_is_512_bytes() {
        let ok = "x".repeat(512);
        assert!(StreamId::parse(&ok).is_ok());
        let too_long = "x".repeat(513);
        assert_eq!(
            StreamId::parse(&too_long),
            Err(Error::StreamIdTooLong { length: 513 })
        );
        // Bytes, not characters: 171 three-byte characters are 513 bytes.
        assert_eq!(
            StreamId::parse(&"語".repeat(171)),
            Err(Error::StreamIdTooLong { length: 513 })
        );
        assert!(StreamId::verbatim("y".repeat(600)).is_err());
    }

    #[test]
    fn malformed_items_are_errors() {
        assert_eq!(
            StreamId::parse("#!::r=live,publish"),
            Err(Error::StreamIdItemWithoutValue {
                item: "publish".into()
            })
        );
        assert_eq!(
            StreamId::parse("#!::=x"),
            Err(Error::StreamIdEmptyKey { item: "=x".into() })
        );
        assert_eq!(
            StreamId::parse("#!::r=a,r=b"),
            Err(Error::StreamIdDuplicateKey { key: "r".into() })
        );
        assert_eq!(
            StreamId::parse("#!::t=video"),
            Err(Error::StreamIdInvalidType {
                value: "video".into()
            })
        );
        assert_eq!(
            StreamId::parse("#!::m=play"),
            Err(Error::StreamIdInvalidMode {
                value: "play".into()
            })
        );
        assert_eq!(
            StreamId::parse("#!::r=a,"),
            Err(Error::StreamIdItemWithoutValue { item: "".into() })
        );
    }

    #[test]
    fn built_items_reject_characters_the_syntax_cannot_carry() {
        assert!(matches!(
            Item::new("r", "a,b"),
            Err(Error::StreamIdForbiddenCharacter { character: ',', .. })
        ));
        assert!(matches!(
            Item::new("k=", "v"),
            Err(Error::StreamIdForbiddenCharacter { character: '=', .. })
        ));
        let mut access = AccessControl::new();
        access.push(Item::new("r", "live/x").unwrap()).unwrap();
        assert!(access.push(Item::Resource("other".into())).is_err());
        assert_eq!(access.to_string(), "#!::r=live/x");
    }

    #[test]
    fn verbatim_constructor_keeps_prefixed_text_typed() {
        let id = StreamId::verbatim("#!::r=x").unwrap();
        assert!(id.access_control().is_some());
        assert!(StreamId::Verbatim("#!::r=x".into()).validate().is_err());
        assert!(StreamId::Verbatim("plain".into()).validate().is_ok());
    }
}
