//! Plain data, no I/O: TCP states, socket records and filters.
//!
//! Everything here is shared by collectors (which produce records), aggregation (which counts
//! them) and renderers (which print the counts). Nothing here reads the kernel or prints.

pub mod duration;
pub mod filter;
pub mod range;
pub mod socket;
pub mod state;

pub use filter::{Cidr, Filter, PortSet};
pub use range::Range;
pub use socket::{Family, SocketRecord, TimerKind};
pub use state::{KernelState, StateSet, TcpState};
