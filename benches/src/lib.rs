//! Benchmark support for tmio.
