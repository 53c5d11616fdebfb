//! Pure functions from sockets to numbers: by port, by process, by watched group.
//!
//! Owns: the matrices `ports` and `procs` print and metrics export, built from sockets the
//! pipeline hands over (as [`crate::model::Sink`]s, so a census streams) and from owners it
//! found. No I/O; nothing here reads the kernel or formats text.

pub mod health;
pub mod history;
pub mod port_health;
pub mod ports;
pub mod procs;
pub mod workloads;

pub use ports::{
    bound_ports, service_group, service_group_in, BoundedPorts, Direction, FoldedPorts,
    ListenerQueue, PortBudget, PortGrouping, PortMatrix, PortRow, DEFAULT_EPHEMERAL_PORTS,
    DEFAULT_TOP_LISTENING,
};
pub use procs::{is_not_accepted, AcceptQueue, CommandRows, OwnerlessRows, ProcMatrix, ProcRow};

pub mod replay;
pub mod track;
pub mod watch;
