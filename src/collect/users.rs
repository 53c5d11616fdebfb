//! User names, from the system's user database: `getpwuid_r` / `getpwnam_r` through the C
//! library, so whatever NSS is configured to ask (`/etc/passwd`, LDAP, SSSD, systemd-homed,
//! ...) answers, as `ls -l` and `ps` see it.
//!
//! Owns: [`Names`], a per-uid cache (a million sockets of a few users cost a few lookups), and
//! [`uid_of`] for `--user NAME`. A uid NSS does not know has no name (outputs show the number);
//! a lookup that fails (an unreachable directory server) is treated the same and not retried
//! within a run.

use std::collections::HashMap;

use nix::unistd::{Uid, User};

use crate::model::Users;

/// User names by uid, each asked once.
#[derive(Debug, Default)]
pub struct Names {
    cache: HashMap<u32, Option<String>>,
}

impl Names {
    pub fn new() -> Names {
        Names::default()
    }

    /// The name of `uid`, if the user database has one.
    pub fn name(&mut self, uid: u32) -> Option<&str> {
        self.cache
            .entry(uid)
            .or_insert_with(|| lookup(uid))
            .as_deref()
    }

    /// The names of `uids`, as a table for renderers.
    pub fn table(&mut self, uids: impl IntoIterator<Item = u32>) -> Users {
        let mut pairs = Vec::new();
        for uid in uids {
            if let Some(name) = self.name(uid) {
                pairs.push((uid, name.to_string()));
            }
        }
        Users::from_pairs(pairs)
    }
}

/// `getpwuid_r`: the user's name, or `None` when there is none or the lookup failed.
fn lookup(uid: u32) -> Option<String> {
    User::from_uid(Uid::from_raw(uid))
        .ok()
        .flatten()
        .map(|u| u.name)
}

/// `getpwnam_r`: the uid of the user called `name` (`--user NAME`).
pub fn uid_of(name: &str) -> Option<u32> {
    User::from_name(name).ok().flatten().map(|u| u.uid.as_raw())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_is_found_both_ways_and_unknown_uids_have_no_name() {
        let mut names = Names::new();
        assert_eq!(names.name(0), Some("root"));
        assert_eq!(uid_of("root"), Some(0));
        assert_eq!(uid_of("no-such-user-tcpstat"), None);
        // The highest uid is reserved ((uid_t) -1): nobody has it.
        assert_eq!(names.name(u32::MAX), None);
        let table = names.table([0, u32::MAX, 0]);
        assert_eq!((table.name(0), table.len()), (Some("root"), 1));
    }
}
