//! A real container, run by a real OCI runtime: `runc` (Debian's package) with a rootfs made
//! from Debian's `busybox-static` (`/bin/busybox` copied in, with symlinks), a `config.json`
//! from `runc spec` edited with serde_json, joining a named network namespace (`ip netns
//! add`, `lo` up) and given a `cgroupsPath` of a runtime's grammar. Its main process is a
//! persistent busybox `nc` server whose per-connection children (`sleep`) hold the accepted
//! connections: LISTEN and ESTABLISHED in the container's cgroup, CLOSE_WAIT when the client
//! shuts its side.
//!
//! The cgroup a test checks is the one runc really made, read back from
//! `/proc/PID/cgroup` of the container's process, not the `cgroupsPath` the test wrote. (With
//! the cgroupfs driver runc 1.1 makes the path as given in every v1 hierarchy and, on a
//! hybrid host, in the unified one too; `runc delete` removes the leaf but leaves the
//! directories above it, which [`Container`] removes on drop.)
//!
//! Needs root, `runc`, `/bin/busybox` (static), `ip` and a cgroup2 mount:
//! [`runc_available`] says why not (`.ci/run` installs `runc` and `busybox-static`).

use std::fs::{self, File};
use std::net::{Shutdown, TcpStream};
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;

use nix::sched::CloneFlags;
use serde_json::Value;

use super::cgroup::{cgroup2_mount, process_cgroup};
use super::is_root;
use super::wait::wait_for;

/// Busybox as Debian's `busybox-static` installs it (static: it runs in an empty rootfs).
const BUSYBOX: &str = "/bin/busybox";

fn works(cmd: &str, arg: &str) -> bool {
    Command::new(cmd)
        .arg(arg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether a runc container can be run here; `Err` holds why not.
pub fn runc_available() -> Result<(), String> {
    if !is_root() {
        return Err("not running as root (runc, ip netns)".into());
    }
    if !works("runc", "--version") {
        return Err("runc is not installed (Debian package runc)".into());
    }
    if !fs::read(BUSYBOX).is_ok_and(|b| is_static_elf64(&b)) {
        return Err(format!(
            "{BUSYBOX} is missing or not static (Debian package busybox-static)"
        ));
    }
    if !works("ip", "-V") {
        return Err("ip (iproute2) is not installed".into());
    }
    cgroup2_mount()?;
    Ok(())
}

/// Whether `elf` is a 64-bit little-endian ELF file without a program interpreter
/// (`PT_INTERP`): a static binary, which runs in a rootfs holding nothing else.
fn is_static_elf64(elf: &[u8]) -> bool {
    let u16_at = |o: usize| elf.get(o..o + 2).map(|b| u16::from_le_bytes([b[0], b[1]]));
    let u32_at = |o: usize| {
        elf.get(o..o + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let u64_at = |o: usize| {
        elf.get(o..o + 8).map(|b| {
            let mut a = [0u8; 8];
            a.copy_from_slice(b);
            u64::from_le_bytes(a)
        })
    };
    if !elf.starts_with(b"\x7fELF\x02\x01") {
        return false;
    }
    let (Some(phoff), Some(size), Some(count)) = (u64_at(0x20), u16_at(0x36), u16_at(0x38)) else {
        return false;
    };
    let Ok(phoff) = usize::try_from(phoff) else {
        return false;
    };
    (0..usize::from(count)).all(|i| u32_at(phoff + i * usize::from(size)).is_some_and(|t| t != 3))
}

/// Every cgroup hierarchy mounted (v1 controllers and the unified one), from mountinfo.
fn cgroup_mounts() -> Vec<PathBuf> {
    fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let (left, right) = l.split_once(" - ")?;
            let fstype = right.split(' ').next()?;
            let fields: Vec<&str> = left.split(' ').collect();
            (matches!(fstype, "cgroup" | "cgroup2") && fields.len() >= 5 && fields[3] == "/")
                .then(|| PathBuf::from(fields[4]))
        })
        .collect()
}

/// A running runc container in a named network namespace of its own. Killed and deleted on
/// drop, with the namespace and the cgroup directories runc left.
pub struct Container {
    pub id: String,
    /// The `ip netns` name of its network namespace.
    pub netns: String,
    /// Its main process (the `nc` server), as the host sees it.
    pub pid: u32,
    /// The cgroup v2 path runc put it in, from `/proc/PID/cgroup`.
    pub cgroup: String,
    pub port: u16,
    /// Directories along the cgroups path that did not exist before, in every hierarchy.
    leftovers: Vec<PathBuf>,
    /// Client ends (in the host's cgroup) of connections to the container.
    clients: Vec<TcpStream>,
}

impl Container {
    /// Runs container `id` from a bundle made in `bundle` (created; under a `--host-root`
    /// it can sit where a runtime keeps its bundles), with `cgroups_path` and `annotations`
    /// in its config, serving on `port` in a new named network namespace.
    pub fn run(
        id: &str,
        bundle: &Path,
        cgroups_path: &str,
        annotations: Value,
        port: u16,
    ) -> Container {
        let netns = format!("tcpstat-ct-{}", &id[..12]);
        let ok = |what: &str, out: std::io::Result<std::process::Output>| {
            let out = out.unwrap_or_else(|e| panic!("{what}: {e}"));
            assert!(
                out.status.success(),
                "{what}: {:?}\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        };
        ok(
            "ip netns add",
            Command::new("ip").args(["netns", "add", &netns]).output(),
        );
        // From here on the namespace is the guard's.
        let mut c = Container {
            id: id.to_string(),
            netns: netns.clone(),
            pid: 0,
            cgroup: String::new(),
            port,
            leftovers: Vec::new(),
            clients: Vec::new(),
        };
        ok(
            "ip -n NS link set lo up",
            Command::new("ip")
                .args(["-n", &netns, "link", "set", "lo", "up"])
                .output(),
        );

        // The rootfs: static busybox and the applets the container runs.
        let bin = bundle.join("rootfs/bin");
        fs::create_dir_all(&bin).expect("mkdir rootfs/bin");
        fs::copy(BUSYBOX, bin.join("busybox")).expect("copy busybox");
        for applet in ["sh", "nc", "sleep"] {
            symlink("busybox", bin.join(applet)).expect("symlink applet");
        }
        for d in ["proc", "dev", "sys", "tmp"] {
            fs::create_dir_all(bundle.join("rootfs").join(d)).expect("mkdir rootfs dir");
        }
        let _ = fs::remove_file(bundle.join("config.json"));
        ok(
            "runc spec",
            Command::new("runc")
                .args(["spec", "--bundle"])
                .arg(bundle)
                .output(),
        );
        let path = bundle.join("config.json");
        let mut config: Value =
            serde_json::from_slice(&fs::read(&path).expect("read config.json")).expect("json");
        config["process"]["terminal"] = Value::Bool(false);
        config["process"]["args"] = serde_json::json!([
            "/bin/nc",
            "-ll",
            "-p",
            port.to_string(),
            "-e",
            "/bin/sleep",
            "600"
        ]);
        config["root"]["readonly"] = Value::Bool(true);
        config["hostname"] = Value::String(id[..12].to_string());
        config["linux"]["cgroupsPath"] = Value::String(cgroups_path.to_string());
        let namespaces = config["linux"]["namespaces"]
            .as_array_mut()
            .expect("linux.namespaces");
        for ns in namespaces.iter_mut() {
            if ns["type"] == "network" {
                ns["path"] = Value::String(format!("/run/netns/{netns}"));
            }
        }
        config["annotations"] = annotations;
        fs::write(&path, serde_json::to_vec_pretty(&config).expect("json")).expect("write");

        // What exists before runc runs: what it creates besides is removed on drop.
        let parts: Vec<&str> = cgroups_path.split('/').filter(|p| !p.is_empty()).collect();
        for mount in cgroup_mounts() {
            let mut dir = mount.clone();
            for part in &parts {
                dir.push(part);
                if !dir.exists() {
                    c.leftovers.push(dir.clone());
                }
            }
        }

        let log = File::create(bundle.join("runc.log")).expect("log file");
        let out = Command::new("runc")
            .args(["run", "--detach", "--bundle"])
            .arg(bundle)
            .arg(id)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup"))
            .stderr(log)
            .status()
            .expect("running runc run");
        assert!(
            out.success(),
            "runc run --detach: {out:?}\n{}",
            fs::read_to_string(bundle.join("runc.log")).unwrap_or_default()
        );
        let state = Command::new("runc")
            .args(["state", id])
            .output()
            .expect("runc state");
        let state: Value = serde_json::from_slice(&state.stdout).expect("runc state is JSON");
        c.pid = u32::try_from(state["pid"].as_u64().expect("pid")).expect("pid");
        c.cgroup = process_cgroup(c.pid).expect("the container's cgroup");
        // The server is listening once the kernel says so in its namespace.
        wait_for("the container's listener", || {
            let o = c.in_netns(move || {
                Command::new("ss")
                    .args(["-tlnH", &format!("sport = :{port}")])
                    .output()
            });
            let o = o.ok()?;
            (!String::from_utf8_lossy(&o.stdout).trim().is_empty()).then_some(())
        });
        c
    }

    /// Runs `f` on a thread that joined the container's network namespace (processes it
    /// starts are in it too).
    pub fn in_netns<R: Send + 'static>(&self, f: impl FnOnce() -> R + Send + 'static) -> R {
        let file = File::open(format!("/run/netns/{}", self.netns)).expect("open netns");
        thread::spawn(move || {
            nix::sched::setns(&file, CloneFlags::CLONE_NEWNET).expect("setns");
            f()
        })
        .join()
        .unwrap_or_else(|p| std::panic::resume_unwind(p))
    }

    /// Opens `n` connections to the server from the container's namespace (client ends in
    /// this process, the host's cgroup); `half_close` shuts their sending side, leaving the
    /// container's ends in CLOSE_WAIT.
    pub fn connect(&mut self, n: usize, half_close: bool) {
        let port = self.port;
        let streams = self.in_netns(move || {
            (0..n)
                .map(|_| {
                    let s = TcpStream::connect(("127.0.0.1", port)).expect("connect to container");
                    if half_close {
                        s.shutdown(Shutdown::Write).expect("half-close");
                    }
                    s
                })
                .collect::<Vec<_>>()
        });
        self.clients.extend(streams);
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        self.clients.clear();
        let quiet = |args: &[&str]| {
            let _ = Command::new("runc")
                .args(args)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        };
        quiet(&["kill", &self.id, "KILL"]);
        quiet(&["delete", "--force", &self.id]);
        for dir in self.leftovers.iter().rev() {
            let _ = fs::remove_dir(dir);
        }
        let _ = Command::new("ip")
            .args(["netns", "delete", &self.netns])
            .stderr(Stdio::null())
            .status();
    }
}
