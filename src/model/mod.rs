//! Plain data, no I/O: every type that crosses a layer.
//!
//! Collectors produce [`SocketRecord`]s into a [`Sink`] and say what they saw in an
//! [`Outcome`]; aggregation counts them ([`StateCounts`], [`StateRow`]); renderers print the
//! counts. Namespaces, owners, kernel facts, users and the [`Plan`] of a collection live here
//! too, so that no layer has to import the one that produces them. Nothing here reads the
//! kernel or prints.

pub mod counts;
pub mod duration;
pub mod filter;
pub mod history;
pub mod kernel;
pub mod netns;
pub mod owners;
pub mod plan;
pub mod range;
pub mod sink;
pub mod socket;
pub mod source;
pub mod state;
pub mod tcpinfo;
pub mod users;
pub mod workload;

pub use counts::{StateCounts, StateRow, UnknownBucket};
pub use filter::{CgroupMatch, Cidr, Filter, Half, PortSet, WorkloadRequest};
pub use kernel::KernelFacts;
pub use netns::Namespace;
pub use owners::{OwnerMap, Process, ScanStats};
pub use plan::{Listeners, NetnsRequest, OwnerWalk, Plan};
pub use range::Range;
pub use sink::{Detailed, Sink, Snapshot};
pub use socket::{Family, SocketRecord, TimerKind};
pub use source::{Outcome, SourceChoice, SourceKind};
pub use state::{KernelState, StateSet, TcpState};
pub use tcpinfo::{Congestion, Extensions, SkMemInfo, SocketDetail, TcpInfo};
pub use users::Users;
