//! User names for uids, as outputs print them. Finding them is `collect::users` (the system's
//! user database through NSS). No I/O.

use std::collections::HashMap;

/// The names of the uids an output shows; a uid without a name (no such user) is absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Users {
    names: HashMap<u32, String>,
}

impl Users {
    /// A table of `(uid, name)` pairs (the first name of a uid wins).
    pub fn from_pairs(pairs: impl IntoIterator<Item = (u32, String)>) -> Users {
        let mut users = Users::default();
        for (uid, name) in pairs {
            users.names.entry(uid).or_insert(name);
        }
        users
    }

    /// The name of `uid`, if it has one.
    pub fn name(&self, uid: u32) -> Option<&str> {
        self.names.get(&uid).map(String::as_str)
    }

    /// Number of distinct uids with a name.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_name_of_a_uid_wins() {
        let users = Users::from_pairs([(0, "root".into()), (0, "toor".into()), (33, "www".into())]);
        assert_eq!(users.name(0), Some("root"));
        assert_eq!(users.name(33), Some("www"));
        assert_eq!(users.name(7), None);
        assert_eq!(users.len(), 2);
    }
}
