//! The SRT backend: tmio's own data path (`connection`, sans-IO) on srt-protocol's packet codec,
//! HSv5 handshake and encryption, driven by a thin tokio I/O layer.
pub mod connection;
