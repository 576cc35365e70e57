//! `tmio-transport`: work in progress — the SRT data path, bonded groups and TCP transports.
#![warn(missing_docs)]

pub mod sim;
pub mod srt;
