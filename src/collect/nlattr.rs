//! Netlink attributes (`struct nlattr`): finding one among those after a message.
//!
//! Owns: [`attribute`], the one walk over the attributes that follow an `inet_diag_msg`
//! (the cgroup id in `netlink`, tcp_info, the congestion algorithm and socket memory in
//! `tcpinfo`), and the header's size.

/// Size of `struct nlattr`.
pub const NLA_HDR_LEN: usize = 4;

/// The payload of the first attribute of type `kind` among the `struct nlattr`s after an
/// `inet_diag_msg`, or `None` when absent or when the attributes do not fit (a malformed tail
/// loses the optional data, never the socket).
pub fn attribute(mut attrs: &[u8], kind: u16) -> Option<&[u8]> {
    while attrs.len() >= NLA_HDR_LEN {
        let len = usize::from(u16::from_ne_bytes([attrs[0], attrs[1]]));
        // The high bits of nla_type are flags (NLA_F_NESTED, NLA_F_NET_BYTEORDER).
        let ty = u16::from_ne_bytes([attrs[2], attrs[3]]) & 0x3fff;
        if len < NLA_HDR_LEN || len > attrs.len() {
            return None;
        }
        if ty == kind {
            return Some(&attrs[NLA_HDR_LEN..len]);
        }
        // Attributes are aligned to 4 bytes (NLA_ALIGN); the last one may end unpadded.
        attrs = attrs.get((len + 3) & !3..).unwrap_or(&[]);
    }
    None
}
