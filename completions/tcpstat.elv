
use builtin;
use str;

set edit:completion:arg-completer[tcpstat] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'tcpstat'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'tcpstat'= {
            cand --state 'Only these states: names or groups, comma-separated or repeated (e.g. `--state close-wait,time-wait`). The kernel filters, so this is cheap'
            cand --port 'Sockets with this port on either side: a port, a list or a range (`80,443`, `8000-8100`)'
            cand --sport 'Sockets whose local (source) port matches'
            cand --dport 'Sockets whose remote (destination) port matches'
            cand --src 'Sockets whose local address is in this network: an address or CIDR, IPv4 or IPv6 (`10.0.0.0/8`, `::1`). IPv4 networks also match IPv4-mapped IPv6 addresses'
            cand --dst 'Sockets whose remote address is in this network'
            cand --pid 'Sockets owned by this process (comma list or repeated). Resolves owners'
            cand --process 'Sockets owned by a process with this command name: exact match on the kernel''s command name (/proc/PID/comm, 15 bytes; a longer NAME matches on its first 15 bytes). Resolves owners'
            cand --user 'Sockets owned by this user (the socket''s uid): a name or a numeric uid'
            cand --source 'Where to read sockets from: `auto` uses netlink and falls back to /proc (saying so on stderr); `netlink` fails instead of falling back; `proc` reads /proc/net/tcp{,6}, which cannot see CLOSED (bound-only) sockets'
            cand --color 'When to colour the output: `auto` colours a terminal unless NO_COLOR is set or TERM=dumb; `always` beats the environment'
            cand --netns 'Read another network namespace: a name under /run/netns (as `ip netns` names them) or the path of a namespace file (/proc/PID/ns/net, a bind mount). Entering it needs CAP_SYS_ADMIN (root)'
            cand --netns-pid 'Read the network namespace of process PID (e.g. a container''s main process). Entering it needs CAP_SYS_ADMIN; `--source proc` reads /proc/PID/net/tcp{,6} without entering'
            cand --json 'Print one JSON object instead of a table (schema in the README)'
            cand -4 'Only IPv4 sockets'
            cand --ipv4 'Only IPv4 sockets'
            cand -6 'Only IPv6 sockets (IPv4-mapped addresses on IPv6 sockets count as IPv6, as in ss)'
            cand --ipv6 'Only IPv6 sockets (IPv4-mapped addresses on IPv6 sockets count as IPv6, as in ss)'
            cand --all-netns 'Read every network namespace of the host (those named under /run/netns and those of every process), each on its own: a NETNS column, and `netns` keys in JSON. A namespace that cannot be entered is reported and skipped. Needs CAP_SYS_ADMIN (root)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand summary 'Count sockets per TCP state, per address family (the default command)'
            cand ports 'Sockets per port and state: which service has the CLOSE_WAITs'
            cand procs 'Sockets per owning process and state: which process holds them'
            cand list 'One row per socket, streamed as it is read'
            cand ls 'One row per socket, streamed as it is read'
            cand watch 'A live view: counts, changes, rates, history, top groups and how long sockets have been stuck, every --interval'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'tcpstat;summary'= {
            cand --state 'Only these states: names or groups, comma-separated or repeated (e.g. `--state close-wait,time-wait`). The kernel filters, so this is cheap'
            cand --port 'Sockets with this port on either side: a port, a list or a range (`80,443`, `8000-8100`)'
            cand --sport 'Sockets whose local (source) port matches'
            cand --dport 'Sockets whose remote (destination) port matches'
            cand --src 'Sockets whose local address is in this network: an address or CIDR, IPv4 or IPv6 (`10.0.0.0/8`, `::1`). IPv4 networks also match IPv4-mapped IPv6 addresses'
            cand --dst 'Sockets whose remote address is in this network'
            cand --pid 'Sockets owned by this process (comma list or repeated). Resolves owners'
            cand --process 'Sockets owned by a process with this command name: exact match on the kernel''s command name (/proc/PID/comm, 15 bytes; a longer NAME matches on its first 15 bytes). Resolves owners'
            cand --user 'Sockets owned by this user (the socket''s uid): a name or a numeric uid'
            cand --source 'Where to read sockets from: `auto` uses netlink and falls back to /proc (saying so on stderr); `netlink` fails instead of falling back; `proc` reads /proc/net/tcp{,6}, which cannot see CLOSED (bound-only) sockets'
            cand --color 'When to colour the output: `auto` colours a terminal unless NO_COLOR is set or TERM=dumb; `always` beats the environment'
            cand --netns 'Read another network namespace: a name under /run/netns (as `ip netns` names them) or the path of a namespace file (/proc/PID/ns/net, a bind mount). Entering it needs CAP_SYS_ADMIN (root)'
            cand --netns-pid 'Read the network namespace of process PID (e.g. a container''s main process). Entering it needs CAP_SYS_ADMIN; `--source proc` reads /proc/PID/net/tcp{,6} without entering'
            cand --json 'Print one JSON object instead of a table (schema in the README)'
            cand -4 'Only IPv4 sockets'
            cand --ipv4 'Only IPv4 sockets'
            cand -6 'Only IPv6 sockets (IPv4-mapped addresses on IPv6 sockets count as IPv6, as in ss)'
            cand --ipv6 'Only IPv6 sockets (IPv4-mapped addresses on IPv6 sockets count as IPv6, as in ss)'
            cand --all-netns 'Read every network namespace of the host (those named under /run/netns and those of every process), each on its own: a NETNS column, and `netns` keys in JSON. A namespace that cannot be entered is reported and skipped. Needs CAP_SYS_ADMIN (root)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'tcpstat;ports'= {
            cand --by 'How to group: `service` (default), `local` or `remote` port'
            cand --top 'Only the N groups with the most sockets'
            cand --state 'Only these states: names or groups, comma-separated or repeated (e.g. `--state close-wait,time-wait`). The kernel filters, so this is cheap'
            cand --port 'Sockets with this port on either side: a port, a list or a range (`80,443`, `8000-8100`)'
            cand --sport 'Sockets whose local (source) port matches'
            cand --dport 'Sockets whose remote (destination) port matches'
            cand --src 'Sockets whose local address is in this network: an address or CIDR, IPv4 or IPv6 (`10.0.0.0/8`, `::1`). IPv4 networks also match IPv4-mapped IPv6 addresses'
            cand --dst 'Sockets whose remote address is in this network'
            cand --pid 'Sockets owned by this process (comma list or repeated). Resolves owners'
            cand --process 'Sockets owned by a process with this command name: exact match on the kernel''s command name (/proc/PID/comm, 15 bytes; a longer NAME matches on its first 15 bytes). Resolves owners'
            cand --user 'Sockets owned by this user (the socket''s uid): a name or a numeric uid'
            cand --source 'Where to read sockets from: `auto` uses netlink and falls back to /proc (saying so on stderr); `netlink` fails instead of falling back; `proc` reads /proc/net/tcp{,6}, which cannot see CLOSED (bound-only) sockets'
            cand --color 'When to colour the output: `auto` colours a terminal unless NO_COLOR is set or TERM=dumb; `always` beats the environment'
            cand --netns 'Read another network namespace: a name under /run/netns (as `ip netns` names them) or the path of a namespace file (/proc/PID/ns/net, a bind mount). Entering it needs CAP_SYS_ADMIN (root)'
            cand --netns-pid 'Read the network namespace of process PID (e.g. a container''s main process). Entering it needs CAP_SYS_ADMIN; `--source proc` reads /proc/PID/net/tcp{,6} without entering'
            cand --all-states 'Show a column for every state, not only those with sockets'
            cand --json 'Print a JSON array instead of a table'
            cand -4 'Only IPv4 sockets'
            cand --ipv4 'Only IPv4 sockets'
            cand -6 'Only IPv6 sockets (IPv4-mapped addresses on IPv6 sockets count as IPv6, as in ss)'
            cand --ipv6 'Only IPv6 sockets (IPv4-mapped addresses on IPv6 sockets count as IPv6, as in ss)'
            cand --all-netns 'Read every network namespace of the host (those named under /run/netns and those of every process), each on its own: a NETNS column, and `netns` keys in JSON. A namespace that cannot be entered is reported and skipped. Needs CAP_SYS_ADMIN (root)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'tcpstat;procs'= {
            cand --top 'Only the N processes with the most sockets'
            cand --state 'Only these states: names or groups, comma-separated or repeated (e.g. `--state close-wait,time-wait`). The kernel filters, so this is cheap'
            cand --port 'Sockets with this port on either side: a port, a list or a range (`80,443`, `8000-8100`)'
            cand --sport 'Sockets whose local (source) port matches'
            cand --dport 'Sockets whose remote (destination) port matches'
            cand --src 'Sockets whose local address is in this network: an address or CIDR, IPv4 or IPv6 (`10.0.0.0/8`, `::1`). IPv4 networks also match IPv4-mapped IPv6 addresses'
            cand --dst 'Sockets whose remote address is in this network'
            cand --pid 'Sockets owned by this process (comma list or repeated). Resolves owners'
            cand --process 'Sockets owned by a process with this command name: exact match on the kernel''s command name (/proc/PID/comm, 15 bytes; a longer NAME matches on its first 15 bytes). Resolves owners'
            cand --user 'Sockets owned by this user (the socket''s uid): a name or a numeric uid'
            cand --source 'Where to read sockets from: `auto` uses netlink and falls back to /proc (saying so on stderr); `netlink` fails instead of falling back; `proc` reads /proc/net/tcp{,6}, which cannot see CLOSED (bound-only) sockets'
            cand --color 'When to colour the output: `auto` colours a terminal unless NO_COLOR is set or TERM=dumb; `always` beats the environment'
            cand --netns 'Read another network namespace: a name under /run/netns (as `ip netns` names them) or the path of a namespace file (/proc/PID/ns/net, a bind mount). Entering it needs CAP_SYS_ADMIN (root)'
            cand --netns-pid 'Read the network namespace of process PID (e.g. a container''s main process). Entering it needs CAP_SYS_ADMIN; `--source proc` reads /proc/PID/net/tcp{,6} without entering'
            cand --all-states 'Show a column for every state, not only those with sockets'
            cand --json 'Print a JSON object instead of a table'
            cand -4 'Only IPv4 sockets'
            cand --ipv4 'Only IPv4 sockets'
            cand -6 'Only IPv6 sockets (IPv4-mapped addresses on IPv6 sockets count as IPv6, as in ss)'
            cand --ipv6 'Only IPv6 sockets (IPv4-mapped addresses on IPv6 sockets count as IPv6, as in ss)'
            cand --all-netns 'Read every network namespace of the host (those named under /run/netns and those of every process), each on its own: a NETNS column, and `netns` keys in JSON. A namespace that cannot be entered is reported and skipped. Needs CAP_SYS_ADMIN (root)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'tcpstat;list'= {
            cand --sort 'Sort rows (this reads the whole table before printing)'
            cand --state 'Only these states: names or groups, comma-separated or repeated (e.g. `--state close-wait,time-wait`). The kernel filters, so this is cheap'
            cand --port 'Sockets with this port on either side: a port, a list or a range (`80,443`, `8000-8100`)'
            cand --sport 'Sockets whose local (source) port matches'
            cand --dport 'Sockets whose remote (destination) port matches'
            cand --src 'Sockets whose local address is in this network: an address or CIDR, IPv4 or IPv6 (`10.0.0.0/8`, `::1`). IPv4 networks also match IPv4-mapped IPv6 addresses'
            cand --dst 'Sockets whose remote address is in this network'
            cand --pid 'Sockets owned by this process (comma list or repeated). Resolves owners'
            cand --process 'Sockets owned by a process with this command name: exact match on the kernel''s command name (/proc/PID/comm, 15 bytes; a longer NAME matches on its first 15 bytes). Resolves owners'
            cand --user 'Sockets owned by this user (the socket''s uid): a name or a numeric uid'
            cand --source 'Where to read sockets from: `auto` uses netlink and falls back to /proc (saying so on stderr); `netlink` fails instead of falling back; `proc` reads /proc/net/tcp{,6}, which cannot see CLOSED (bound-only) sockets'
            cand --color 'When to colour the output: `auto` colours a terminal unless NO_COLOR is set or TERM=dumb; `always` beats the environment'
            cand --netns 'Read another network namespace: a name under /run/netns (as `ip netns` names them) or the path of a namespace file (/proc/PID/ns/net, a bind mount). Entering it needs CAP_SYS_ADMIN (root)'
            cand --netns-pid 'Read the network namespace of process PID (e.g. a container''s main process). Entering it needs CAP_SYS_ADMIN; `--source proc` reads /proc/PID/net/tcp{,6} without entering'
            cand -p 'Show the owning processes (pid/command); walks /proc/*/fd once'
            cand --processes 'Show the owning processes (pid/command); walks /proc/*/fd once'
            cand -o 'Show the active timer (TIME_WAIT remaining, retransmit, keepalive, probe)'
            cand --timers 'Show the active timer (TIME_WAIT remaining, retransmit, keepalive, probe)'
            cand --json 'Print one JSON array'
            cand --ndjson 'Print one JSON object per line (streamed)'
            cand --no-header 'Do not print the header line'
            cand -4 'Only IPv4 sockets'
            cand --ipv4 'Only IPv4 sockets'
            cand -6 'Only IPv6 sockets (IPv4-mapped addresses on IPv6 sockets count as IPv6, as in ss)'
            cand --ipv6 'Only IPv6 sockets (IPv4-mapped addresses on IPv6 sockets count as IPv6, as in ss)'
            cand --all-netns 'Read every network namespace of the host (those named under /run/netns and those of every process), each on its own: a NETNS column, and `netns` keys in JSON. A namespace that cannot be entered is reported and skipped. Needs CAP_SYS_ADMIN (root)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'tcpstat;ls'= {
            cand --sort 'Sort rows (this reads the whole table before printing)'
            cand --state 'Only these states: names or groups, comma-separated or repeated (e.g. `--state close-wait,time-wait`). The kernel filters, so this is cheap'
            cand --port 'Sockets with this port on either side: a port, a list or a range (`80,443`, `8000-8100`)'
            cand --sport 'Sockets whose local (source) port matches'
            cand --dport 'Sockets whose remote (destination) port matches'
            cand --src 'Sockets whose local address is in this network: an address or CIDR, IPv4 or IPv6 (`10.0.0.0/8`, `::1`). IPv4 networks also match IPv4-mapped IPv6 addresses'
            cand --dst 'Sockets whose remote address is in this network'
            cand --pid 'Sockets owned by this process (comma list or repeated). Resolves owners'
            cand --process 'Sockets owned by a process with this command name: exact match on the kernel''s command name (/proc/PID/comm, 15 bytes; a longer NAME matches on its first 15 bytes). Resolves owners'
            cand --user 'Sockets owned by this user (the socket''s uid): a name or a numeric uid'
            cand --source 'Where to read sockets from: `auto` uses netlink and falls back to /proc (saying so on stderr); `netlink` fails instead of falling back; `proc` reads /proc/net/tcp{,6}, which cannot see CLOSED (bound-only) sockets'
            cand --color 'When to colour the output: `auto` colours a terminal unless NO_COLOR is set or TERM=dumb; `always` beats the environment'
            cand --netns 'Read another network namespace: a name under /run/netns (as `ip netns` names them) or the path of a namespace file (/proc/PID/ns/net, a bind mount). Entering it needs CAP_SYS_ADMIN (root)'
            cand --netns-pid 'Read the network namespace of process PID (e.g. a container''s main process). Entering it needs CAP_SYS_ADMIN; `--source proc` reads /proc/PID/net/tcp{,6} without entering'
            cand -p 'Show the owning processes (pid/command); walks /proc/*/fd once'
            cand --processes 'Show the owning processes (pid/command); walks /proc/*/fd once'
            cand -o 'Show the active timer (TIME_WAIT remaining, retransmit, keepalive, probe)'
            cand --timers 'Show the active timer (TIME_WAIT remaining, retransmit, keepalive, probe)'
            cand --json 'Print one JSON array'
            cand --ndjson 'Print one JSON object per line (streamed)'
            cand --no-header 'Do not print the header line'
            cand -4 'Only IPv4 sockets'
            cand --ipv4 'Only IPv4 sockets'
            cand -6 'Only IPv6 sockets (IPv4-mapped addresses on IPv6 sockets count as IPv6, as in ss)'
            cand --ipv6 'Only IPv6 sockets (IPv4-mapped addresses on IPv6 sockets count as IPv6, as in ss)'
            cand --all-netns 'Read every network namespace of the host (those named under /run/netns and those of every process), each on its own: a NETNS column, and `netns` keys in JSON. A namespace that cannot be entered is reported and skipped. Needs CAP_SYS_ADMIN (root)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'tcpstat;watch'= {
            cand -n 'Time between collections: 500ms, 2s, 1m, ...'
            cand --interval 'Time between collections: 500ms, 2s, 1m, ...'
            cand -c 'Stop after N ticks'
            cand --count 'Stop after N ticks'
            cand --by 'Group the top list by service port, owning process or remote address'
            cand --top 'Length of the top list'
            cand --older-than 'Only report sockets that have been in their state at least this long (e.g. 5m)'
            cand --state 'Only these states: names or groups, comma-separated or repeated (e.g. `--state close-wait,time-wait`). The kernel filters, so this is cheap'
            cand --port 'Sockets with this port on either side: a port, a list or a range (`80,443`, `8000-8100`)'
            cand --sport 'Sockets whose local (source) port matches'
            cand --dport 'Sockets whose remote (destination) port matches'
            cand --src 'Sockets whose local address is in this network: an address or CIDR, IPv4 or IPv6 (`10.0.0.0/8`, `::1`). IPv4 networks also match IPv4-mapped IPv6 addresses'
            cand --dst 'Sockets whose remote address is in this network'
            cand --pid 'Sockets owned by this process (comma list or repeated). Resolves owners'
            cand --process 'Sockets owned by a process with this command name: exact match on the kernel''s command name (/proc/PID/comm, 15 bytes; a longer NAME matches on its first 15 bytes). Resolves owners'
            cand --user 'Sockets owned by this user (the socket''s uid): a name or a numeric uid'
            cand --source 'Where to read sockets from: `auto` uses netlink and falls back to /proc (saying so on stderr); `netlink` fails instead of falling back; `proc` reads /proc/net/tcp{,6}, which cannot see CLOSED (bound-only) sockets'
            cand --color 'When to colour the output: `auto` colours a terminal unless NO_COLOR is set or TERM=dumb; `always` beats the environment'
            cand --netns 'Read another network namespace: a name under /run/netns (as `ip netns` names them) or the path of a namespace file (/proc/PID/ns/net, a bind mount). Entering it needs CAP_SYS_ADMIN (root)'
            cand --netns-pid 'Read the network namespace of process PID (e.g. a container''s main process). Entering it needs CAP_SYS_ADMIN; `--source proc` reads /proc/PID/net/tcp{,6} without entering'
            cand --events 'Also report the sockets that entered or left the watched states since the last tick'
            cand --json 'Print NDJSON (one object per tick) even on a terminal'
            cand -4 'Only IPv4 sockets'
            cand --ipv4 'Only IPv4 sockets'
            cand -6 'Only IPv6 sockets (IPv4-mapped addresses on IPv6 sockets count as IPv6, as in ss)'
            cand --ipv6 'Only IPv6 sockets (IPv4-mapped addresses on IPv6 sockets count as IPv6, as in ss)'
            cand --all-netns 'Read every network namespace of the host (those named under /run/netns and those of every process), each on its own: a NETNS column, and `netns` keys in JSON. A namespace that cannot be entered is reported and skipped. Needs CAP_SYS_ADMIN (root)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'tcpstat;help'= {
            cand summary 'Count sockets per TCP state, per address family (the default command)'
            cand ports 'Sockets per port and state: which service has the CLOSE_WAITs'
            cand procs 'Sockets per owning process and state: which process holds them'
            cand list 'One row per socket, streamed as it is read'
            cand watch 'A live view: counts, changes, rates, history, top groups and how long sockets have been stuck, every --interval'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'tcpstat;help;summary'= {
        }
        &'tcpstat;help;ports'= {
        }
        &'tcpstat;help;procs'= {
        }
        &'tcpstat;help;list'= {
        }
        &'tcpstat;help;watch'= {
        }
        &'tcpstat;help;help'= {
        }
    ]
    $completions[$command]
}
