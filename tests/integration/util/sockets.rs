//! A TCP socket the tests drive one system call at a time, where `std::net` cannot: a socket
//! bound but never listening (CLOSED), small buffers set before the handshake, listeners that
//! share a port, a non-blocking connect left in SYN_SENT, a window filled so that a FIN stays
//! queued, and an abortive close. Everything goes through rustix's safe wrappers; the one
//! number no wrapper offers (the bytes not sent yet) is asked of sock_diag, as `ss -i` does.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsFd, OwnedFd};
use std::thread;
use std::time::Duration;

use netlink_packet_core::{NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_REQUEST};
use netlink_packet_sock_diag::constants::{AF_INET, AF_INET6, IPPROTO_TCP};
use netlink_packet_sock_diag::inet::nlas::Nla;
use netlink_packet_sock_diag::inet::{ExtensionFlags, InetRequest, SocketId, StateFlags};
use netlink_packet_sock_diag::SockDiagMessage;
use netlink_sys::protocols::NETLINK_SOCK_DIAG;
use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::io::Errno;
use rustix::net::sockopt;
use rustix::net::{AddressFamily, SendFlags, SocketFlags, SocketType};

use super::wait::{wait_until, WAIT};

/// An address family of the tests' sockets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    pub const BOTH: [Family; 2] = [Family::V4, Family::V6];

    pub(crate) fn idx(self) -> usize {
        match self {
            Family::V4 => 0,
            Family::V6 => 1,
        }
    }

    /// The key of tcpstat's JSON `families` object.
    pub fn json_key(self) -> &'static str {
        match self {
            Family::V4 => "ipv4",
            Family::V6 => "ipv6",
        }
    }

    pub fn loopback(self) -> IpAddr {
        match self {
            Family::V4 => IpAddr::V4(Ipv4Addr::LOCALHOST),
            Family::V6 => IpAddr::V6(Ipv6Addr::LOCALHOST),
        }
    }

    fn domain(self) -> AddressFamily {
        match self {
            Family::V4 => AddressFamily::INET,
            Family::V6 => AddressFamily::INET6,
        }
    }
}

/// Panics with what failed and the system's reason.
#[track_caller]
fn check<T>(what: &str, result: rustix::io::Result<T>) -> T {
    result.unwrap_or_else(|e| panic!("{what}: {}", io::Error::from(e)))
}

/// A TCP socket. Dropping it aborts the connection (SO_LINGER 0, i.e. RST) so that scenarios
/// leave no orphaned sockets behind on the host; use [`Sock::close_gracefully`] for an
/// ordinary close().
pub struct Sock {
    fd: Option<OwnedFd>,
    family: Family,
}

impl Sock {
    pub fn new(family: Family) -> Sock {
        let fd = rustix::net::socket_with(
            family.domain(),
            SocketType::STREAM,
            SocketFlags::CLOEXEC,
            None,
        );
        Sock {
            fd: Some(check("socket()", fd)),
            family,
        }
    }

    fn fd(&self) -> &OwnedFd {
        self.fd.as_ref().expect("an open socket")
    }

    pub fn family(&self) -> Family {
        self.family
    }

    /// SO_RCVBUF (the kernel doubles it).
    pub fn set_rcvbuf(&self, bytes: usize) -> &Self {
        check(
            "SO_RCVBUF",
            sockopt::set_socket_recv_buffer_size(self.fd(), bytes),
        );
        self
    }

    /// SO_SNDBUF (the kernel doubles it).
    pub fn set_sndbuf(&self, bytes: usize) -> &Self {
        check(
            "SO_SNDBUF",
            sockopt::set_socket_send_buffer_size(self.fd(), bytes),
        );
        self
    }

    pub fn set_reuseaddr(&self) -> &Self {
        check(
            "SO_REUSEADDR",
            sockopt::set_socket_reuseaddr(self.fd(), true),
        );
        self
    }

    pub fn set_reuseport(&self) -> &Self {
        check(
            "SO_REUSEPORT",
            sockopt::set_socket_reuseport(self.fd(), true),
        );
        self
    }

    pub fn bind(&self, addr: SocketAddr) -> io::Result<()> {
        rustix::net::bind(self.fd(), &addr)
            .map_err(|e| io::Error::new(io::Error::from(e).kind(), format!("bind({addr}): {e}")))
    }

    pub fn listen(&self, backlog: i32) {
        check("listen()", rustix::net::listen(self.fd(), backlog));
    }

    pub fn local_addr(&self) -> SocketAddr {
        let any = check("getsockname()", rustix::net::getsockname(self.fd()));
        SocketAddr::try_from(any).expect("an IPv4 or IPv6 address")
    }

    /// The connected peer's address.
    pub fn peer_addr(&self) -> SocketAddr {
        let any = check("getpeername()", rustix::net::getpeername(self.fd()))
            .expect("a connected socket");
        SocketAddr::try_from(any).expect("an IPv4 or IPv6 address")
    }

    pub fn port(&self) -> u16 {
        self.local_addr().port()
    }

    /// Blocking connect (on loopback it returns as soon as the SYN-ACK is in).
    pub fn connect(&self, addr: SocketAddr) {
        check(
            &format!("connect({addr})"),
            rustix::net::connect(self.fd(), &addr),
        );
    }

    /// Non-blocking connect: returns once the SYN is on its way.
    pub fn connect_nonblocking(&self, addr: SocketAddr) {
        self.set_nonblocking();
        match rustix::net::connect(self.fd(), &addr) {
            Err(Errno::INPROGRESS) => {}
            other => panic!("non-blocking connect({addr}) should be EINPROGRESS, got {other:?}"),
        }
    }

    pub fn set_nonblocking(&self) {
        check("FIONBIO", rustix::io::ioctl_fionbio(self.fd(), true));
    }

    /// accept() with a deadline.
    pub fn accept(&self) -> Sock {
        let timeout = Timespec::try_from(WAIT).expect("a timeout");
        let mut pfd = [PollFd::new(self.fd(), PollFlags::IN)];
        let ready = check("poll()", rustix::event::poll(&mut pfd, Some(&timeout)));
        assert!(ready == 1, "no connection to accept within {WAIT:?}");
        let fd = rustix::net::accept_with(self.fd(), SocketFlags::CLOEXEC);
        Sock {
            fd: Some(check("accept4()", fd)),
            family: self.family,
        }
    }

    pub fn shutdown_write(&self) {
        check(
            "shutdown(SHUT_WR)",
            rustix::net::shutdown(self.fd(), rustix::net::Shutdown::Write),
        );
    }

    /// Sends without blocking until the kernel says EAGAIN; returns the bytes sent.
    pub fn send_until_eagain(&self) -> usize {
        let buf = [0x5au8; 16384];
        let mut total = 0;
        loop {
            match rustix::net::send(self.fd(), &buf, SendFlags::DONTWAIT | SendFlags::NOSIGNAL) {
                Ok(n) => total += n,
                Err(Errno::AGAIN) => return total,
                Err(Errno::INTR) => {}
                Err(e) => panic!("send(): {}", io::Error::from(e)),
            }
        }
    }

    /// Bytes in the send queue that have not been sent yet: the kernel's
    /// `tcpi_notsent_bytes`, read through sock_diag (`INET_DIAG_INFO`) for this one socket.
    /// (The ioctl `SIOCOUTQNSD` and the option `TCP_INFO` give the same number, but neither
    /// std, rustix nor nix wraps them; sock_diag is plain messages on a socket.) The
    /// sock_diag socket is created in the calling thread's network namespace, which must be
    /// this socket's.
    pub fn unsent_bytes(&self) -> u32 {
        let (local, peer) = (self.local_addr(), self.peer_addr());
        let mut id = match self.family {
            Family::V4 => SocketId::new_v4(),
            Family::V6 => SocketId::new_v6(),
        };
        id.source_address = local.ip();
        id.source_port = local.port();
        id.destination_address = peer.ip();
        id.destination_port = peer.port();
        // All 0xff: no cookie to check; the addresses and ports name the socket.
        id.cookie = [0xff; 8];
        let request = InetRequest {
            family: match self.family {
                Family::V4 => AF_INET,
                Family::V6 => AF_INET6,
            },
            protocol: IPPROTO_TCP,
            extensions: ExtensionFlags::INFO,
            states: StateFlags::all(),
            socket_id: id,
        };
        let mut header = NetlinkHeader::default();
        // Not a dump: the kernel looks this one socket up (inet_diag_find_one_icsk).
        header.flags = NLM_F_REQUEST;
        let mut message = NetlinkMessage::new(header, SockDiagMessage::InetRequest(request).into());
        message.finalize();
        let mut bytes = vec![0; message.buffer_len()];
        message.serialize(&mut bytes);
        let nl = netlink_sys::Socket::new(NETLINK_SOCK_DIAG).expect("a sock_diag socket");
        nl.send(&bytes, 0).expect("send the sock_diag request");
        let mut reply = vec![0u8; 16384];
        let n = nl
            .recv(&mut &mut reply[..], 0)
            .expect("read the sock_diag answer");
        let answer = NetlinkMessage::<SockDiagMessage>::deserialize(&reply[..n])
            .expect("a sock_diag answer");
        let info = match answer.payload {
            NetlinkPayload::InnerMessage(SockDiagMessage::InetResponse(response)) => response
                .nlas
                .iter()
                .find_map(|nla| match nla {
                    Nla::TcpInfo(info) => Some(info.clone()),
                    _ => None,
                })
                .expect("INET_DIAG_INFO in the answer"),
            other => panic!("sock_diag lookup of {local} -> {peer}: {other:?}"),
        };
        // struct tcp_info (include/uapi/linux/tcp.h): tcpi_notsent_bytes follows
        // tcpi_segs_in, 144 bytes in (since Linux 4.6).
        const NOTSENT: usize = 144;
        let field = info
            .get(NOTSENT..NOTSENT + 4)
            .expect("a tcp_info with tcpi_notsent_bytes (Linux 4.6 or later)");
        u32::from_ne_bytes(field.try_into().expect("four bytes"))
    }

    /// Fills the peer's receive window: sends until EAGAIN, and keeps doing so until data is
    /// waiting unsent in our queue (the peer advertises a zero window) and stays there. A FIN
    /// queued after that is stuck behind it.
    pub fn fill_peer_window(&self) {
        wait_until("the peer's receive window to fill up", WAIT, || {
            self.send_until_eagain();
            let before = self.unsent_bytes();
            if before == 0 {
                return Err("send queue empty: the peer still accepts data".into());
            }
            // Give the peer a moment to open its window again, if it would.
            thread::sleep(Duration::from_millis(20));
            let after = self.unsent_bytes();
            if after > 0 && after >= before {
                Ok(())
            } else {
                Err(format!(
                    "unsent bytes went {before} -> {after}: window still moving"
                ))
            }
        });
    }

    /// An ordinary close(): FIN, then the kernel carries on (orphaned).
    pub fn close_gracefully(mut self) {
        drop(self.fd.take());
    }

    /// The descriptor, to hand to another process (no abort on drop).
    pub fn into_fd(mut self) -> OwnedFd {
        self.fd.take().expect("an open socket")
    }
}

impl AsFd for Sock {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.fd().as_fd()
    }
}

impl Drop for Sock {
    fn drop(&mut self) {
        if let Some(fd) = &self.fd {
            // Failures are harmless here: the close that follows still happens.
            let _ = sockopt::set_socket_linger(fd, Some(Duration::ZERO));
        }
    }
}

/// A server that never reads, with a small receive buffer, and a client that filled its
/// window: the client faces a zero window (its peer is not reading). Both ends and the
/// listener are returned to be kept.
pub fn not_reading() -> (u16, [Sock; 3]) {
    let stuck = Sock::new(Family::V4);
    stuck.set_rcvbuf(4096);
    stuck
        .bind("127.0.0.1:0".parse().expect("addr"))
        .expect("bind");
    stuck.listen(8);
    let port = stuck.port();
    let writer = Sock::new(Family::V4);
    writer.connect(stuck.local_addr());
    let reader = stuck.accept();
    writer.fill_peer_window();
    (port, [stuck, writer, reader])
}
