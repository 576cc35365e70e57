//! `tmio-pump`: work in progress — see the workspace README for what this crate will own.
#![warn(missing_docs)]
