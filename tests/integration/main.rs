//! The integration tests, one crate (`cargo test --test integration`): the suite links once
//! and every module shares [`util`]. Tests of all modules run concurrently in this one
//! process; those that spawn processes or create sockets take [`util::serial`] (see
//! [`util`] for why).
//!
//! The binary on recorded fixtures and on the live kernel:
//! - `cli`: JSON contract, warnings, errors, exit codes, colour and pipes;
//! - `bad_input`: one test per row of the user guide's "Bad input" table;
//! - `states`: real loopback sockets driven into every TCP state, counted by both sources;
//! - `breakdown`: `ports`, `procs` and `list` with real processes, hostile names, dropped
//!   privileges, user names from NSS;
//! - `netns`: `--netns`, `--netns-pid` and `--all-netns` on namespaces made by the test;
//! - `health`: retransmits, zero windows, stalls and full receive queues made for real
//!   between two namespaces over a veth (nftables loss), checked against `ss -ti`, through
//!   `list -i`, `health` and `doctor`;
//! - `doctor`, `check`: real leaks, full queues, SYN_SENT, TIME_WAIT, SYN_RECV and a fixture;
//!   the monitoring plugin's status lines;
//! - `doctor_at`: `doctor --at` over a recorded leak (same finding as live), `history
//!   --process`, a version 1 history database migrated;
//! - `prometheus`: `--format prometheus` and `serve`, checked with promtool;
//! - `exporter`: `serve`'s gzip, process metrics and build information;
//! - `packaging`: the systemd units (systemd-analyze, their capabilities run for real, the
//!   system calls of serve and record under strace against the units' filters);
//! - `mixin`: alerts and rules through promtool and their unit tests; metric names exist;
//! - `prometheus_server`: a real Prometheus scraping a real `serve` with the mixin loaded,
//!   while CLOSE_WAIT sockets leak: series, alerts pending, every dashboard query;
//! - `watch`: sockets changing state between ticks; the screen in tmux;
//! - `workloads`: `tcpstat workloads` and the workload dimension (`--by`, `--cgroup`,
//!   `--workload`, `list -W`, Prometheus) on real cgroups named as systemd, Docker, Podman
//!   and Kubernetes name them, and on a real runc container;
//! - `golden`: every subcommand and format on a fixed socket table, byte for byte
//!   (`tests/golden/`).
//!
//! The library, without the binary:
//! - `owners`: the `/proc/*/fd` owner walk with real processes;
//! - `bytecode`: kernel-side filters against user-space filters and `ss`;
//! - `properties`: property tests of every parser of outside input;
//! - `snapshots`: every renderer on fixed data (`tests/snapshots/`);
//! - `generated`: the committed completions and man pages are what the CLI generates;
//! - `completions`: the completion scripts driven in real bash, zsh and fish;
//! - `architecture`: the layering of `ARCHITECTURE.md`, checked on the source.
//! - `schemas`: every JSON document of every subcommand validated against its published JSON
//!   Schema (`docs/schema/`), on fixtures, live sockets and network namespaces.

mod architecture;
mod bad_input;
mod breakdown;
mod bytecode;
mod check;
mod cli;
mod completions;
mod doctor;
mod doctor_at;
mod exporter;
mod generated;
mod golden;
mod health;
mod history;
mod history_report;
mod mixin;
mod netns;
mod owners;
mod packaging;
mod prometheus;
mod prometheus_server;
mod properties;
mod schemas;
mod snapshots;
mod states;
mod util;
mod watch;
mod workloads;
