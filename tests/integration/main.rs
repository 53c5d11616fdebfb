//! Integration tests that run the built binary (`cargo test --test integration`).
//!
//! - `golden`: every subcommand and output format on a fixed socket table, compared byte for
//!   byte (after masking what varies between runs) with the files in `tests/golden/`;
//!   `TCPSTAT_BLESS=1` rewrites them.
//! - `architecture`: the layering of `ARCHITECTURE.md`, checked on the source.
//! - `schemas`: every JSON document of every subcommand validated against its published JSON
//!   Schema (`docs/schema/`), on fixtures, live sockets and network namespaces.

mod architecture;
mod golden;
mod schemas;
mod util;
