//! Sans-IO SRT data path (being written; see docs/transport.md for the contract).
