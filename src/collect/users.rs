//! User names for uids, from a passwd file.
//!
//! Owns: reading `/etc/passwd` (the path is a parameter) into a two-way table. It must not
//! call libc or NSS: users that exist only in LDAP, sssd or systemd-homed have no name here,
//! and callers show the number instead. A missing or unreadable file gives an empty table;
//! malformed lines are skipped. When several lines share a uid or a name, the first one
//! wins, as with `getpwuid` and `getpwnam` on files.

use std::fs;
use std::path::Path;

use crate::model::users::Users;

/// Reads a passwd file; any error reading it gives an empty table.
pub fn load(path: &Path) -> Users {
    fs::read(path)
        .map(|text| Users::parse(&text))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str =
        "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n";

    #[test]
    fn a_missing_file_is_an_empty_table() {
        let users = load(Path::new("/nonexistent/tcpstat/passwd"));
        assert!(users.is_empty());
        assert_eq!(users.name(0), None);
    }

    #[test]
    fn loads_a_file() {
        let path = std::env::temp_dir().join(format!("tcpstat-passwd-{}", std::process::id()));
        fs::write(&path, PASSWD).expect("write temp passwd");
        let users = load(&path);
        let _ = fs::remove_file(&path);
        assert_eq!(users, Users::parse(PASSWD.as_bytes()));
        assert_eq!(users.name(1), Some("daemon"));
    }

    #[test]
    fn this_hosts_passwd_names_root() {
        let users = load(Path::new("/etc/passwd"));
        if users.is_empty() {
            println!("skipped: /etc/passwd is missing or empty here");
            return;
        }
        assert_eq!(users.name(0), Some("root"));
    }
}
