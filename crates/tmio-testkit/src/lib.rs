//! `tmio-testkit`: work in progress.
#![warn(missing_docs)]
