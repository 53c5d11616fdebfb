//! Facts about the host that outputs carry next to the numbers.

use std::path::Path;

/// The kernel's host name (`<proc_root>/sys/kernel/hostname`, i.e. uname's nodename), or `None`
/// when it cannot be read. Read from the same proc root as the sockets so fixtures stay whole.
pub fn hostname(proc_root: &Path) -> Option<String> {
    let raw = std::fs::read_to_string(proc_root.join("sys/kernel/hostname")).ok()?;
    let name = raw.trim_end_matches('\n');
    (!name.is_empty()).then(|| name.to_string())
}
