//! The gateway's access control: a stream-id allow-list, in SRT's access-control convention.
//!
//! A caller's stream id `#!::r=RESOURCE,u=USER,m=MODE,…` (SRT's `AccessControl.md`) names what it
//! wants (`r=`), who it is (`u=`) and which way the data goes (`m=`: `request` to play — the
//! default when absent, as the convention says —, `publish` to push, `bidirectional`). A stream id
//! not in that syntax is its whole text as the resource, with no user and mode `request`.
//!
//! An [`AccessRule`] such as `r=live,m=publish` holds when every condition it has holds: `r=`
//! matches the resource itself or anything below it (`live` allows `live/cam1`); `u=` and `m=` must
//! be equal. With rules configured, a caller must satisfy at least one; with none, everyone may
//! connect (routing and passphrases still apply).

use std::fmt;

use tmio_url::StreamId;

use crate::Error;

/// What a caller's stream id says, for access decisions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Claims {
    pub resource: Option<String>,
    pub user: Option<String>,
    pub mode: &'static str,
}

impl Claims {
    /// The claims of a stream id (`None`: no stream id at all).
    pub(crate) fn of(stream_id: Option<&str>) -> Claims {
        let mut claims = Claims {
            resource: None,
            user: None,
            mode: "request",
        };
        match stream_id.map(StreamId::parse) {
            Some(Ok(StreamId::AccessControl(acl))) => {
                claims.resource = acl.resource().map(|r| r.trim_matches('/').to_owned());
                claims.user = acl.user().map(str::to_owned);
                if let Some(mode) = acl.mode() {
                    claims.mode = mode.as_str();
                }
            }
            Some(Ok(StreamId::Verbatim(text))) => {
                claims.resource = Some(text.trim_matches('/').to_owned());
            }
            _ => {}
        }
        claims
    }
}

/// One rule of the allow-list (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessRule {
    resource: Option<String>,
    user: Option<String>,
    mode: Option<String>,
}

const MODES: [&str; 3] = ["request", "publish", "bidirectional"];

impl AccessRule {
    /// Parses `r=RESOURCE,u=USER,m=MODE` (any non-empty subset, each key once).
    pub fn parse(spec: &str) -> Result<AccessRule, Error> {
        let bad = |reason: String| Error::AccessRule {
            rule: spec.to_owned(),
            reason,
        };
        let mut rule = AccessRule {
            resource: None,
            user: None,
            mode: None,
        };
        for part in spec.split(',') {
            let Some((key, value)) = part.split_once('=') else {
                return Err(bad(format!("{part:?} is not KEY=VALUE")));
            };
            let value = value.trim();
            if value.is_empty() {
                return Err(bad(format!("{key}= has no value")));
            }
            let slot = match key.trim() {
                "r" => &mut rule.resource,
                "u" => &mut rule.user,
                "m" => {
                    if !MODES.contains(&value) {
                        return Err(bad(format!(
                            "mode {value:?} is not request, publish or bidirectional"
                        )));
                    }
                    &mut rule.mode
                }
                other => {
                    return Err(bad(format!(
                        "unknown key {other:?} (r= resource, u= user, m= mode)"
                    )))
                }
            };
            if slot.is_some() {
                return Err(bad(format!("{key}= given twice")));
            }
            *slot = Some(value.trim_matches('/').to_owned());
        }
        Ok(rule)
    }

    /// Whether a caller with these claims satisfies the rule.
    pub(crate) fn allows(&self, claims: &Claims) -> bool {
        let resource_ok = match (&self.resource, &claims.resource) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(allowed), Some(resource)) => {
                resource == allowed
                    || resource
                        .strip_prefix(allowed.as_str())
                        .is_some_and(|rest| rest.starts_with('/'))
            }
        };
        let user_ok = match (&self.user, &claims.user) {
            (None, _) => true,
            (Some(allowed), Some(user)) => allowed == user,
            (Some(_), None) => false,
        };
        let mode_ok = self.mode.as_deref().is_none_or(|mode| mode == claims.mode);
        resource_ok && user_ok && mode_ok
    }
}

impl fmt::Display for AccessRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = [("r", &self.resource), ("u", &self.user), ("m", &self.mode)]
            .iter()
            .filter_map(|(key, value)| value.as_ref().map(|v| format!("{key}={v}")))
            .collect();
        f.write_str(&parts.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allows(rule: &str, stream_id: Option<&str>) -> bool {
        AccessRule::parse(rule)
            .unwrap()
            .allows(&Claims::of(stream_id))
    }

    #[test]
    fn rules_match_resource_prefixes_users_and_modes() {
        assert!(allows("r=live", Some("#!::r=live/cam1,m=publish")));
        assert!(allows("r=live", Some("#!::r=live")));
        assert!(!allows("r=live", Some("#!::r=livestream")));
        assert!(!allows("r=live", None));
        assert!(allows("r=live/cam1", Some("live/cam1")));
        assert!(allows("u=alice", Some("#!::u=alice,r=x")));
        assert!(!allows("u=alice", Some("#!::u=bob,r=x")));
        assert!(!allows("u=alice", Some("#!::r=x")));
        // No m= means request (the convention's default).
        assert!(allows("m=request", Some("#!::r=x")));
        assert!(!allows("m=publish", Some("#!::r=x")));
        assert!(allows(
            "r=live,m=publish,u=alice",
            Some("#!::u=alice,r=live/a,m=publish")
        ));
        assert!(!allows(
            "r=live,m=publish,u=alice",
            Some("#!::u=alice,r=vod/a,m=publish")
        ));
    }

    #[test]
    fn bad_rules_are_named() {
        for (spec, words) in [
            ("r", "is not KEY=VALUE"),
            ("r=", "has no value"),
            ("m=push", "is not request, publish or bidirectional"),
            ("x=1", "unknown key"),
            ("r=a,r=b", "given twice"),
        ] {
            let err = AccessRule::parse(spec).unwrap_err().to_string();
            assert!(err.contains(words) && err.contains(spec), "{spec}: {err}");
        }
        assert_eq!(
            AccessRule::parse("m=publish,r=/live/").unwrap().to_string(),
            "r=live,m=publish"
        );
    }
}
