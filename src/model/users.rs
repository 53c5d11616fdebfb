//! User names for uids: a two-way table, and the parser of passwd text that fills it.
//! Reading the file is `collect::users`. No I/O.

use std::collections::HashMap;

/// uid <-> user name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Users {
    names: HashMap<u32, String>,
    uids: HashMap<String, u32>,
}

impl Users {
    /// Parses passwd text: `name:password:uid:gid:gecos:home:shell` per line. Lines that do
    /// not have seven fields, a name and a decimal uid are skipped, as are NIS compat entries
    /// (`+name`, `-name`, `+`) and lines that are not UTF-8.
    pub fn parse(text: &[u8]) -> Users {
        let mut users = Users::default();
        for line in text.split(|&b| b == b'\n') {
            if let Some((name, uid)) = std::str::from_utf8(line).ok().and_then(parse_line) {
                users.names.entry(uid).or_insert_with(|| name.to_string());
                users.uids.entry(name.to_string()).or_insert(uid);
            }
        }
        users
    }

    /// The name of `uid`, if the file has one.
    pub fn name(&self, uid: u32) -> Option<&str> {
        self.names.get(&uid).map(String::as_str)
    }

    /// The uid of the user called `name`, if the file has one.
    pub fn uid(&self, name: &str) -> Option<u32> {
        self.uids.get(name).copied()
    }

    /// Number of distinct uids with a name.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

/// `name:x:uid:...` -> (name, uid), or `None` for a line that is not a user.
fn parse_line(line: &str) -> Option<(&str, u32)> {
    let fields: Vec<&str> = line.split(':').collect();
    let [name, _password, uid, ..] = fields[..] else {
        return None;
    };
    if fields.len() != 7 || name.is_empty() || name.starts_with(['+', '-', '#']) {
        return None;
    }
    if uid.is_empty() || !uid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((name, uid.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "\
root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin
toor:x:0:0:second root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin

# comment:x:5:5::/:/bin/sh
short:x:6
negative:x:-7:7::/:/bin/sh
plus:x:+8:8::/:/bin/sh
letters:x:9a:9::/:/bin/sh
huge:x:4294967296:0::/:/bin/sh
:x:10:10::/:/bin/sh
+nis:x:11:11::/:/bin/sh
+
toomany:x:12:12::/:/bin/sh:extra
root:x:13:13:dup name:/:/bin/sh
crlf:x:14:14::/:/bin/sh\r
max:x:4294967295:0::/:/bin/sh
last-line-without-newline:x:1000:1000::/home/u:/bin/sh";

    #[test]
    fn parses_users_and_skips_malformed_lines() {
        let users = Users::parse(PASSWD.as_bytes());
        assert_eq!(users.name(0), Some("root"), "first line wins for a uid");
        assert_eq!(users.uid("toor"), Some(0));
        assert_eq!(users.uid("root"), Some(0), "first line wins for a name");
        assert_eq!(
            users.name(13),
            Some("root"),
            "a duplicate name still names its uid"
        );
        assert_eq!(users.name(33), Some("www-data"));
        assert_eq!(users.name(65534), Some("nobody"));
        assert_eq!(users.name(u32::MAX), Some("max"));
        assert_eq!(users.uid("last-line-without-newline"), Some(1000));
        // The shell field keeps the \r; the line is still a user.
        assert_eq!(users.name(14), Some("crlf"));
        for bad in [
            "# comment",
            "short",
            "negative",
            "plus",
            "letters",
            "huge",
            "",
            "+nis",
            "toomany",
        ] {
            assert_eq!(users.uid(bad), None, "{bad:?} must be skipped");
        }
        for uid in [5, 6, 8, 9, 10, 11, 12] {
            assert_eq!(users.name(uid), None, "uid {uid}");
        }
        assert_eq!(users.len(), 8);
    }

    #[test]
    fn non_utf8_lines_are_skipped_alone() {
        let users = Users::parse(b"b\xffd:x:5:5::/:/bin/sh\nok:x:6:6::/:/bin/sh\n");
        assert_eq!(users.name(5), None);
        assert_eq!(users.name(6), Some("ok"));
    }
}
