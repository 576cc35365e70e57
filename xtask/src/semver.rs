//! Semantic versions (<https://semver.org>), parsed and ordered by hand: xtask is std only.

use std::cmp::Ordering;
use std::fmt;

/// A `MAJOR.MINOR.PATCH[-PRE][+BUILD]` version.
///
/// ```
/// use xtask::semver::Version;
///
/// let next: Version = "0.2.0-rc.1".parse()?;
/// let current: Version = "0.1.0".parse()?;
/// assert!(next.is_newer_than(&current));
/// assert!("0.2.0".parse::<Version>()?.is_newer_than(&next));
/// assert!("0.2".parse::<Version>().is_err());
/// # Ok::<(), xtask::semver::VersionError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    /// Incompatible changes.
    pub major: u64,
    /// Compatible additions.
    pub minor: u64,
    /// Fixes.
    pub patch: u64,
    /// Pre-release identifiers (`rc.1` is `["rc", "1"]`); empty for a release.
    pub pre: Vec<String>,
    /// Build metadata, ignored when ordering.
    pub build: Option<String>,
}

/// Why a string is not a semantic version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionError(pub &'static str);

impl fmt::Display for VersionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for VersionError {}

impl std::str::FromStr for Version {
    type Err = VersionError;

    fn from_str(text: &str) -> Result<Version, VersionError> {
        if text.starts_with(['v', 'V']) {
            return Err(VersionError(
                "write the version without the leading `v` (the tag adds it)",
            ));
        }
        let (rest, build) = match text.split_once('+') {
            Some((rest, build)) => {
                identifiers(build, false)?;
                (rest, Some(build.to_owned()))
            }
            None => (text, None),
        };
        let (core, pre) = match rest.split_once('-') {
            Some((core, pre)) => (core, identifiers(pre, true)?),
            None => (rest, Vec::new()),
        };
        let numbers: Vec<&str> = core.split('.').collect();
        let [major, minor, patch] = numbers[..] else {
            return Err(VersionError(
                "expected MAJOR.MINOR.PATCH, three numbers separated by dots",
            ));
        };
        Ok(Version {
            major: number(major)?,
            minor: number(minor)?,
            patch: number(patch)?,
            pre,
            build,
        })
    }
}

fn number(text: &str) -> Result<u64, VersionError> {
    if text.is_empty() || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(VersionError("MAJOR, MINOR and PATCH must be whole numbers"));
    }
    if text.len() > 1 && text.starts_with('0') {
        return Err(VersionError("numbers must not have leading zeros"));
    }
    text.parse()
        .map_err(|_| VersionError("a version number is too large"))
}

/// Dot-separated identifiers of a pre-release (`numeric_rules`) or of build metadata.
fn identifiers(text: &str, numeric_rules: bool) -> Result<Vec<String>, VersionError> {
    text.split('.')
        .map(|identifier| {
            if identifier.is_empty()
                || !identifier
                    .bytes()
                    .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-')
            {
                return Err(VersionError(
                    "pre-release and build identifiers are non-empty [0-9A-Za-z-] separated by dots",
                ));
            }
            let numeric = identifier.bytes().all(|byte| byte.is_ascii_digit());
            if numeric_rules && numeric && identifier.len() > 1 && identifier.starts_with('0') {
                return Err(VersionError(
                    "numeric pre-release identifiers must not have leading zeros",
                ));
            }
            Ok(identifier.to_owned())
        })
        .collect()
}

impl Version {
    /// Semver precedence: build metadata ignored, a pre-release before its release.
    pub fn precedence(&self, other: &Version) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(other.major, other.minor, other.patch))
            .then_with(|| match (self.pre.is_empty(), other.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => pre_release_order(&self.pre, &other.pre),
            })
    }

    /// Whether `self` comes strictly after `other`.
    pub fn is_newer_than(&self, other: &Version) -> bool {
        self.precedence(other) == Ordering::Greater
    }
}

fn pre_release_order(left: &[String], right: &[String]) -> Ordering {
    for (a, b) in left.iter().zip(right) {
        let order = match (a.parse::<u64>(), b.parse::<u64>()) {
            (Ok(a), Ok(b)) => a.cmp(&b),
            (Ok(_), Err(_)) => Ordering::Less,
            (Err(_), Ok(_)) => Ordering::Greater,
            (Err(_), Err(_)) => a.cmp(b),
        };
        if order != Ordering::Equal {
            return order;
        }
    }
    left.len().cmp(&right.len())
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        if !self.pre.is_empty() {
            write!(f, "-{}", self.pre.join("."))?;
        }
        if let Some(build) = &self.build {
            write!(f, "+{build}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(text: &str) -> Version {
        text.parse().unwrap()
    }

    #[test]
    fn parses_and_prints_back() {
        for text in [
            "0.1.0",
            "1.22.333",
            "1.0.0-rc.1",
            "1.0.0-alpha-2.x+build.5",
            "2.0.0+sha.1",
        ] {
            assert_eq!(version(text).to_string(), text);
        }
        assert_eq!(version("1.0.0-rc.1").pre, ["rc", "1"]);
    }

    #[test]
    fn refuses_what_is_not_semver_with_a_reason() {
        for bad in [
            "",
            "1",
            "0.2",
            "1.2.3.4",
            "v1.0.0",
            "01.0.0",
            "1.x.0",
            "1.0.0-",
            "1.0.0-rc..1",
            "1.0.0-01",
            "1.0.0+",
            "1.0.0-ä",
            " 1.0.0",
            "-1.0.0",
        ] {
            let error = bad.parse::<Version>().unwrap_err();
            assert!(!error.0.is_empty(), "{bad}");
        }
        assert_eq!(
            "v1.0.0".parse::<Version>().unwrap_err().to_string(),
            "write the version without the leading `v` (the tag adds it)"
        );
    }

    #[test]
    fn orders_by_semver_precedence() {
        // The example ordering of semver.org, section 11.
        let ordered = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
            "1.0.1",
            "1.1.0",
            "2.0.0",
        ];
        for pair in ordered.windows(2) {
            assert!(
                version(pair[1]).is_newer_than(&version(pair[0])),
                "{pair:?}"
            );
            assert!(
                !version(pair[0]).is_newer_than(&version(pair[1])),
                "{pair:?}"
            );
        }
        assert!(!version("1.0.0+b").is_newer_than(&version("1.0.0+a")));
        assert!(!version("0.1.0").is_newer_than(&version("0.1.0")));
        assert!(version("0.10.0").is_newer_than(&version("0.9.0")));
    }
}
