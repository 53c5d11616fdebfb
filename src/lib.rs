//! tcpstat: a live TCP socket-state monitor that replaces `netstat` and `ss`.
//!
//! Data flows one way, and every subcommand takes the same road:
//!
//! ```text
//! cli (flags) -> config (flags + environment) -> plan (what to read)
//!   -> pipeline: collect (netlink or /proc, over a set of namespaces; owners; settings)
//!   -> aggregate (counts by state, port, process; watch history) / diagnose (findings)
//!      / check (verdict)
//!   -> render (table, JSON, Prometheus, plugin line, watch screen) -> writer
//! ```
//!
//! - [`model`]: plain data every layer may use (sockets, states, filters, outcomes,
//!   namespaces, owners, kernel facts, the plan). No I/O.
//! - [`collect`]: kernel and filesystem I/O only. Collectors stream each socket into a sink as
//!   they parse it, so a census of a million sockets needs memory for the counts only.
//! - [`pipeline`]: one plan run over a set of namespaces (tcpstat's own is a set of one).
//! - [`aggregate`], [`diagnose`], [`check`]: pure functions from sockets to numbers and
//!   findings.
//! - [`render`]: plain data in, bytes out; never reads the kernel.
//! - [`app`]: one small file per subcommand (its plan, its renderer); `watch` and [`serve`]
//!   repeat the pipeline.
//!
//! `ARCHITECTURE.md` says where a new dimension or subcommand goes, and what never imports
//! what.

pub mod aggregate;
pub mod app;
pub mod check;
pub mod cli;
pub mod collect;
pub mod config;
pub mod diagnose;
pub mod error;
pub mod generate;
pub mod model;
pub mod pipeline;
pub mod render;
pub mod serve;
pub mod store;
pub mod term;

pub use app::run;
