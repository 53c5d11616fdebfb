# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_tcpstat_global_optspecs
    string join \n json format= state= 4/ipv4 6/ipv6 port= sport= dport= src= dst= pid= process= user= cgroup= workload= source= color= netns= netns-pid= all-netns host-root= h/help V/version
end

function __fish_tcpstat_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_tcpstat_global_optspecs) -- $cmd 2>/dev/null
    # tcpstat: an option waiting for its value (tcpstat --format <Tab>) is no subcommand.
    or return 0
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_tcpstat_using_subcommand
    set -l cmd (__fish_tcpstat_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c tcpstat -n "__fish_tcpstat_needs_command" -l format -d 'Output format: table, json or prometheus' -r -f -a "table\t'A table for people'
json\t'One JSON object (schema: man tcpstat-json); the same as --json'
prometheus\t'Prometheus text exposition, e.g. for node_exporter\'s textfile collector'"
complete -c tcpstat -n "__fish_tcpstat_needs_command" -l state -d 'Only these states: names or groups, comma-separated or repeated (e.g. `--state close-wait,time-wait`). The kernel filters, so this is cheap' -r -f -a "(__fish_tcpstat_value states)"
complete -c tcpstat -n "__fish_tcpstat_needs_command" -l port -d 'Sockets with this port on either side: a port, a list or a range (`80,443`, `8000-8100`)' -r
complete -c tcpstat -n "__fish_tcpstat_needs_command" -l sport -d 'Sockets whose local (source) port matches' -r
complete -c tcpstat -n "__fish_tcpstat_needs_command" -l dport -d 'Sockets whose remote (destination) port matches' -r
complete -c tcpstat -n "__fish_tcpstat_needs_command" -l src -d 'Sockets whose local address is in this network: an address or CIDR, IPv4 or IPv6 (`10.0.0.0/8`, `::1`). IPv4 networks also match IPv4-mapped IPv6 addresses' -r
complete -c tcpstat -n "__fish_tcpstat_needs_command" -l dst -d 'Sockets whose remote address is in this network' -r
complete -c tcpstat -n "__fish_tcpstat_needs_command" -l pid -d 'Sockets owned by this process (comma list or repeated; 1 or more). Resolves owners' -r -f -a "(__fish_tcpstat_value pids)"
complete -c tcpstat -n "__fish_tcpstat_needs_command" -l process -d 'Sockets owned by a process with this command name: exact match on the kernel\'s command name (/proc/PID/comm, 15 bytes; a longer NAME matches on its first 15 bytes). Resolves owners' -r -f -a "(__fish_tcpstat_value processes)"
complete -c tcpstat -n "__fish_tcpstat_needs_command" -l user -d 'Sockets owned by this user (the socket\'s uid): a name or a numeric uid' -r -f -a "(__fish_complete_users)"
complete -c tcpstat -n "__fish_tcpstat_needs_command" -l cgroup -d 'Sockets of this cgroup and every cgroup below it: a cgroup v2 path as in /proc/PID/cgroup (`/system.slice/nginx.service`). The kernel filters by cgroup id, as `ss cgroup PATH` does; TIME_WAIT and SYN_RECV sockets, which have no cgroup, count when they are on a port the cgroup listens on. Needs the netlink source' -r
complete -c tcpstat -n "__fish_tcpstat_needs_command" -l workload -d 'Sockets of a workload, by any of its names (as `tcpstat workloads` shows them): a systemd unit (`nginx.service`), a container\'s name or id (12 hex digits at least), a pod (`NAME` or `NAMESPACE/NAME`), `NAMESPACE/POD/CONTAINER`. As --cgroup, for every cgroup it names' -r
complete -c tcpstat -n "__fish_tcpstat_needs_command" -l source -d 'Where to read sockets from: `auto` uses netlink and falls back to /proc (saying so on stderr); `netlink` fails instead of falling back; `proc` reads /proc/net/tcp{,6}, which cannot see CLOSED (bound-only) sockets' -r -f -a "auto\t''
netlink\t''
proc\t''"
complete -c tcpstat -n "__fish_tcpstat_needs_command" -l color -d 'When to colour the output: `auto` colours a terminal unless NO_COLOR is set or TERM=dumb; `always` beats the environment' -r -f -a "auto\t''
always\t''
never\t''"
complete -c tcpstat -n "__fish_tcpstat_needs_command" -l netns -d 'Read another network namespace: a name under /run/netns (as `ip netns` names them) or the path of a namespace file (/proc/PID/ns/net, a bind mount). Entering it needs CAP_SYS_ADMIN (root)' -r -f -a "(__fish_tcpstat_value netns)"
complete -c tcpstat -n "__fish_tcpstat_needs_command" -l netns-pid -d 'Read the network namespace of process PID (e.g. a container\'s main process). Entering it needs CAP_SYS_ADMIN; `--source proc` reads /proc/PID/net/tcp{,6} without entering' -r -f -a "(__fish_tcpstat_value pid)"
complete -c tcpstat -n "__fish_tcpstat_needs_command" -l host-root -d 'Where container runtimes keep their files (the host\'s `/`; e.g. `/host` in a container with the host\'s root mounted there): names of Docker and Podman containers and Kubernetes pods are read under it (var/lib/docker, var/lib/containers, run/containerd, run/containers, var/log/pods)' -r -f -a "(__fish_complete_directories)"
complete -c tcpstat -n "__fish_tcpstat_needs_command" -l json -d 'Print one JSON object instead of a table (schema: man tcpstat-json); --format json'
complete -c tcpstat -n "__fish_tcpstat_needs_command" -s 4 -l ipv4 -d 'Only IPv4 sockets'
complete -c tcpstat -n "__fish_tcpstat_needs_command" -s 6 -l ipv6 -d 'Only IPv6 sockets (IPv4-mapped addresses on IPv6 sockets count as IPv6, as in ss)'
complete -c tcpstat -n "__fish_tcpstat_needs_command" -l all-netns -d 'Read every network namespace of the host (those named under /run/netns and those of every process), each on its own: a NETNS column, and `netns_label` keys in JSON. A namespace that cannot be entered is reported and skipped. Needs CAP_SYS_ADMIN (root)'
complete -c tcpstat -n "__fish_tcpstat_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tcpstat -n "__fish_tcpstat_needs_command" -s V -l version -d 'Print version'
complete -c tcpstat -n "__fish_tcpstat_needs_command" -f -a "summary" -d 'Count sockets per TCP state, per address family (the default command)'
complete -c tcpstat -n "__fish_tcpstat_needs_command" -f -a "ports" -d 'Sockets per port and state: which service has the CLOSE_WAITs'
complete -c tcpstat -n "__fish_tcpstat_needs_command" -f -a "procs" -d 'Sockets per owning process and state: which process holds them'
complete -c tcpstat -n "__fish_tcpstat_needs_command" -f -a "workloads" -d 'Sockets per workload and state: which service, container or pod holds them'
complete -c tcpstat -n "__fish_tcpstat_needs_command" -f -a "wl" -d 'Sockets per workload and state: which service, container or pod holds them'
complete -c tcpstat -n "__fish_tcpstat_needs_command" -f -a "health" -d 'Connection health per service port or peer, from the kernel\'s tcp_info'
complete -c tcpstat -n "__fish_tcpstat_needs_command" -f -a "list" -d 'One row per socket, streamed as it is read'
complete -c tcpstat -n "__fish_tcpstat_needs_command" -f -a "ls" -d 'One row per socket, streamed as it is read'
complete -c tcpstat -n "__fish_tcpstat_needs_command" -f -a "watch" -d 'A live view: counts, changes, rates, history, top groups and how long sockets have been stuck, every --interval'
complete -c tcpstat -n "__fish_tcpstat_needs_command" -f -a "doctor" -d 'Explain what is wrong: CLOSE_WAIT leaks per process, full accept queues, SYN floods, TIME_WAIT and ephemeral-port pressure, stuck closes, orphans, TCP memory, unanswered connects'
complete -c tcpstat -n "__fish_tcpstat_needs_command" -f -a "check" -d 'A monitoring plugin (Nagios, Icinga, Sensu): one status line with performance data, exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN'
complete -c tcpstat -n "__fish_tcpstat_needs_command" -f -a "serve" -d 'Serve Prometheus metrics over HTTP: /metrics (a fresh collection per scrape), /healthz and a short index page at /'
complete -c tcpstat -n "__fish_tcpstat_needs_command" -f -a "record" -d 'Record the socket table into a history database every --interval, until stopped'
complete -c tcpstat -n "__fish_tcpstat_needs_command" -f -a "history" -d 'Look back at what `tcpstat record` stored: sockets per state over a period (min, avg, max and a chart), one recorded moment (--at), when a state left its normal band (--onset), as a table, JSON or CSV'
complete -c tcpstat -n "__fish_tcpstat_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand summary" -l format -d 'Output format: table, json or prometheus' -r -f -a "table\t'A table for people'
json\t'One JSON object (schema: man tcpstat-json); the same as --json'
prometheus\t'Prometheus text exposition, e.g. for node_exporter\'s textfile collector'"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand summary" -l state -d 'Only these states: names or groups, comma-separated or repeated (e.g. `--state close-wait,time-wait`). The kernel filters, so this is cheap' -r -f -a "(__fish_tcpstat_value states)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand summary" -l port -d 'Sockets with this port on either side: a port, a list or a range (`80,443`, `8000-8100`)' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand summary" -l sport -d 'Sockets whose local (source) port matches' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand summary" -l dport -d 'Sockets whose remote (destination) port matches' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand summary" -l src -d 'Sockets whose local address is in this network: an address or CIDR, IPv4 or IPv6 (`10.0.0.0/8`, `::1`). IPv4 networks also match IPv4-mapped IPv6 addresses' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand summary" -l dst -d 'Sockets whose remote address is in this network' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand summary" -l pid -d 'Sockets owned by this process (comma list or repeated; 1 or more). Resolves owners' -r -f -a "(__fish_tcpstat_value pids)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand summary" -l process -d 'Sockets owned by a process with this command name: exact match on the kernel\'s command name (/proc/PID/comm, 15 bytes; a longer NAME matches on its first 15 bytes). Resolves owners' -r -f -a "(__fish_tcpstat_value processes)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand summary" -l user -d 'Sockets owned by this user (the socket\'s uid): a name or a numeric uid' -r -f -a "(__fish_complete_users)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand summary" -l cgroup -d 'Sockets of this cgroup and every cgroup below it: a cgroup v2 path as in /proc/PID/cgroup (`/system.slice/nginx.service`). The kernel filters by cgroup id, as `ss cgroup PATH` does; TIME_WAIT and SYN_RECV sockets, which have no cgroup, count when they are on a port the cgroup listens on. Needs the netlink source' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand summary" -l workload -d 'Sockets of a workload, by any of its names (as `tcpstat workloads` shows them): a systemd unit (`nginx.service`), a container\'s name or id (12 hex digits at least), a pod (`NAME` or `NAMESPACE/NAME`), `NAMESPACE/POD/CONTAINER`. As --cgroup, for every cgroup it names' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand summary" -l source -d 'Where to read sockets from: `auto` uses netlink and falls back to /proc (saying so on stderr); `netlink` fails instead of falling back; `proc` reads /proc/net/tcp{,6}, which cannot see CLOSED (bound-only) sockets' -r -f -a "auto\t''
netlink\t''
proc\t''"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand summary" -l color -d 'When to colour the output: `auto` colours a terminal unless NO_COLOR is set or TERM=dumb; `always` beats the environment' -r -f -a "auto\t''
always\t''
never\t''"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand summary" -l netns -d 'Read another network namespace: a name under /run/netns (as `ip netns` names them) or the path of a namespace file (/proc/PID/ns/net, a bind mount). Entering it needs CAP_SYS_ADMIN (root)' -r -f -a "(__fish_tcpstat_value netns)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand summary" -l netns-pid -d 'Read the network namespace of process PID (e.g. a container\'s main process). Entering it needs CAP_SYS_ADMIN; `--source proc` reads /proc/PID/net/tcp{,6} without entering' -r -f -a "(__fish_tcpstat_value pid)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand summary" -l host-root -d 'Where container runtimes keep their files (the host\'s `/`; e.g. `/host` in a container with the host\'s root mounted there): names of Docker and Podman containers and Kubernetes pods are read under it (var/lib/docker, var/lib/containers, run/containerd, run/containers, var/log/pods)' -r -f -a "(__fish_complete_directories)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand summary" -l json -d 'Print one JSON object instead of a table (schema: man tcpstat-json); --format json'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand summary" -s 4 -l ipv4 -d 'Only IPv4 sockets'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand summary" -s 6 -l ipv6 -d 'Only IPv6 sockets (IPv4-mapped addresses on IPv6 sockets count as IPv6, as in ss)'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand summary" -l all-netns -d 'Read every network namespace of the host (those named under /run/netns and those of every process), each on its own: a NETNS column, and `netns_label` keys in JSON. A namespace that cannot be entered is reported and skipped. Needs CAP_SYS_ADMIN (root)'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand summary" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand summary" -s V -l version -d 'Print version'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand ports" -l by -d 'How to group: `service` (default), `local` or `remote` port. --format prometheus takes only `service` (ephemeral ports never become labels)' -r -f -a "service\t'The service port: the side listened on here (by port number: `in` if local, `out` if remote); if neither, the side outside net.ipv4.ip_local_port_range, else the lower'
local\t'Always the local port'
remote\t'Always the remote port'"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand ports" -l top -d 'Only the N groups with the most sockets (N >= 1; the footer and JSON `ports_omitted` say how many were left out). With --format prometheus: the N busiest ports that are not listened on (default 10; 0: none), the rest summed as port="other"' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand ports" -l top-listening -d 'With --format prometheus: the listening ports kept, those with the fullest accept queues first (then the busiest); the rest are summed as port="other", so that the number of series is bounded whatever the host does' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand ports" -l format -d 'Output format: table, json or prometheus' -r -f -a "table\t'A table for people'
json\t'One JSON object (schema: man tcpstat-json); the same as --json'
prometheus\t'Prometheus text exposition, e.g. for node_exporter\'s textfile collector'"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand ports" -l state -d 'Only these states: names or groups, comma-separated or repeated (e.g. `--state close-wait,time-wait`). The kernel filters, so this is cheap' -r -f -a "(__fish_tcpstat_value states)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand ports" -l port -d 'Sockets with this port on either side: a port, a list or a range (`80,443`, `8000-8100`)' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand ports" -l sport -d 'Sockets whose local (source) port matches' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand ports" -l dport -d 'Sockets whose remote (destination) port matches' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand ports" -l src -d 'Sockets whose local address is in this network: an address or CIDR, IPv4 or IPv6 (`10.0.0.0/8`, `::1`). IPv4 networks also match IPv4-mapped IPv6 addresses' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand ports" -l dst -d 'Sockets whose remote address is in this network' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand ports" -l pid -d 'Sockets owned by this process (comma list or repeated; 1 or more). Resolves owners' -r -f -a "(__fish_tcpstat_value pids)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand ports" -l process -d 'Sockets owned by a process with this command name: exact match on the kernel\'s command name (/proc/PID/comm, 15 bytes; a longer NAME matches on its first 15 bytes). Resolves owners' -r -f -a "(__fish_tcpstat_value processes)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand ports" -l user -d 'Sockets owned by this user (the socket\'s uid): a name or a numeric uid' -r -f -a "(__fish_complete_users)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand ports" -l cgroup -d 'Sockets of this cgroup and every cgroup below it: a cgroup v2 path as in /proc/PID/cgroup (`/system.slice/nginx.service`). The kernel filters by cgroup id, as `ss cgroup PATH` does; TIME_WAIT and SYN_RECV sockets, which have no cgroup, count when they are on a port the cgroup listens on. Needs the netlink source' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand ports" -l workload -d 'Sockets of a workload, by any of its names (as `tcpstat workloads` shows them): a systemd unit (`nginx.service`), a container\'s name or id (12 hex digits at least), a pod (`NAME` or `NAMESPACE/NAME`), `NAMESPACE/POD/CONTAINER`. As --cgroup, for every cgroup it names' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand ports" -l source -d 'Where to read sockets from: `auto` uses netlink and falls back to /proc (saying so on stderr); `netlink` fails instead of falling back; `proc` reads /proc/net/tcp{,6}, which cannot see CLOSED (bound-only) sockets' -r -f -a "auto\t''
netlink\t''
proc\t''"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand ports" -l color -d 'When to colour the output: `auto` colours a terminal unless NO_COLOR is set or TERM=dumb; `always` beats the environment' -r -f -a "auto\t''
always\t''
never\t''"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand ports" -l netns -d 'Read another network namespace: a name under /run/netns (as `ip netns` names them) or the path of a namespace file (/proc/PID/ns/net, a bind mount). Entering it needs CAP_SYS_ADMIN (root)' -r -f -a "(__fish_tcpstat_value netns)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand ports" -l netns-pid -d 'Read the network namespace of process PID (e.g. a container\'s main process). Entering it needs CAP_SYS_ADMIN; `--source proc` reads /proc/PID/net/tcp{,6} without entering' -r -f -a "(__fish_tcpstat_value pid)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand ports" -l host-root -d 'Where container runtimes keep their files (the host\'s `/`; e.g. `/host` in a container with the host\'s root mounted there): names of Docker and Podman containers and Kubernetes pods are read under it (var/lib/docker, var/lib/containers, run/containerd, run/containers, var/log/pods)' -r -f -a "(__fish_complete_directories)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand ports" -l all-states -d 'Show a column for every state, not only those with sockets (or, with --state, those selected); states not selected or not visible to the source show `-`'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand ports" -l json -d 'Print a JSON object instead of a table; --format json'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand ports" -s 4 -l ipv4 -d 'Only IPv4 sockets'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand ports" -s 6 -l ipv6 -d 'Only IPv6 sockets (IPv4-mapped addresses on IPv6 sockets count as IPv6, as in ss)'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand ports" -l all-netns -d 'Read every network namespace of the host (those named under /run/netns and those of every process), each on its own: a NETNS column, and `netns_label` keys in JSON. A namespace that cannot be entered is reported and skipped. Needs CAP_SYS_ADMIN (root)'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand ports" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand ports" -s V -l version -d 'Print version'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand procs" -l top -d 'Only the N processes with the most sockets (N >= 1; the footer and JSON `processes_omitted` say how many were left out; the rows of sockets without a process are always shown). With --format prometheus: the N busiest command names (default 20; 0: none), the rest summed' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand procs" -l format -d 'Output format: table, json or prometheus' -r -f -a "table\t'A table for people'
json\t'One JSON object (schema: man tcpstat-json); the same as --json'
prometheus\t'Prometheus text exposition, e.g. for node_exporter\'s textfile collector'"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand procs" -l state -d 'Only these states: names or groups, comma-separated or repeated (e.g. `--state close-wait,time-wait`). The kernel filters, so this is cheap' -r -f -a "(__fish_tcpstat_value states)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand procs" -l port -d 'Sockets with this port on either side: a port, a list or a range (`80,443`, `8000-8100`)' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand procs" -l sport -d 'Sockets whose local (source) port matches' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand procs" -l dport -d 'Sockets whose remote (destination) port matches' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand procs" -l src -d 'Sockets whose local address is in this network: an address or CIDR, IPv4 or IPv6 (`10.0.0.0/8`, `::1`). IPv4 networks also match IPv4-mapped IPv6 addresses' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand procs" -l dst -d 'Sockets whose remote address is in this network' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand procs" -l pid -d 'Sockets owned by this process (comma list or repeated; 1 or more). Resolves owners' -r -f -a "(__fish_tcpstat_value pids)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand procs" -l process -d 'Sockets owned by a process with this command name: exact match on the kernel\'s command name (/proc/PID/comm, 15 bytes; a longer NAME matches on its first 15 bytes). Resolves owners' -r -f -a "(__fish_tcpstat_value processes)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand procs" -l user -d 'Sockets owned by this user (the socket\'s uid): a name or a numeric uid' -r -f -a "(__fish_complete_users)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand procs" -l cgroup -d 'Sockets of this cgroup and every cgroup below it: a cgroup v2 path as in /proc/PID/cgroup (`/system.slice/nginx.service`). The kernel filters by cgroup id, as `ss cgroup PATH` does; TIME_WAIT and SYN_RECV sockets, which have no cgroup, count when they are on a port the cgroup listens on. Needs the netlink source' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand procs" -l workload -d 'Sockets of a workload, by any of its names (as `tcpstat workloads` shows them): a systemd unit (`nginx.service`), a container\'s name or id (12 hex digits at least), a pod (`NAME` or `NAMESPACE/NAME`), `NAMESPACE/POD/CONTAINER`. As --cgroup, for every cgroup it names' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand procs" -l source -d 'Where to read sockets from: `auto` uses netlink and falls back to /proc (saying so on stderr); `netlink` fails instead of falling back; `proc` reads /proc/net/tcp{,6}, which cannot see CLOSED (bound-only) sockets' -r -f -a "auto\t''
netlink\t''
proc\t''"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand procs" -l color -d 'When to colour the output: `auto` colours a terminal unless NO_COLOR is set or TERM=dumb; `always` beats the environment' -r -f -a "auto\t''
always\t''
never\t''"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand procs" -l netns -d 'Read another network namespace: a name under /run/netns (as `ip netns` names them) or the path of a namespace file (/proc/PID/ns/net, a bind mount). Entering it needs CAP_SYS_ADMIN (root)' -r -f -a "(__fish_tcpstat_value netns)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand procs" -l netns-pid -d 'Read the network namespace of process PID (e.g. a container\'s main process). Entering it needs CAP_SYS_ADMIN; `--source proc` reads /proc/PID/net/tcp{,6} without entering' -r -f -a "(__fish_tcpstat_value pid)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand procs" -l host-root -d 'Where container runtimes keep their files (the host\'s `/`; e.g. `/host` in a container with the host\'s root mounted there): names of Docker and Podman containers and Kubernetes pods are read under it (var/lib/docker, var/lib/containers, run/containerd, run/containers, var/log/pods)' -r -f -a "(__fish_complete_directories)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand procs" -l all-states -d 'Show a column for every state, not only those with sockets (or, with --state, those selected); states not selected or not visible to the source show `-`'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand procs" -l json -d 'Print a JSON object instead of a table; --format json'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand procs" -s 4 -l ipv4 -d 'Only IPv4 sockets'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand procs" -s 6 -l ipv6 -d 'Only IPv6 sockets (IPv4-mapped addresses on IPv6 sockets count as IPv6, as in ss)'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand procs" -l all-netns -d 'Read every network namespace of the host (those named under /run/netns and those of every process), each on its own: a NETNS column, and `netns_label` keys in JSON. A namespace that cannot be entered is reported and skipped. Needs CAP_SYS_ADMIN (root)'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand procs" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand procs" -s V -l version -d 'Print version'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand workloads" -l by -d 'Group by workload (default), systemd unit, container, pod or raw cgroup path. Sockets of workloads that have no such thing (a service is in no pod) share one row' -r -f -a "workload\t'The most specific of pod container, container, systemd unit, else the cgroup path'
unit\t'The systemd unit (service, scope, user unit)'
container\t'The container, in a pod or not'
pod\t'The Kubernetes pod'
cgroup\t'The raw cgroup path'"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand workloads" -l top -d 'Only the N workloads with the most sockets (N >= 1; the footer and JSON `workloads_omitted` say how many were left out). With --format prometheus: the N busiest (default 50; 0: none), the rest summed' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand workloads" -l format -d 'Output format: table, json or prometheus' -r -f -a "table\t'A table for people'
json\t'One JSON object (schema: man tcpstat-json); the same as --json'
prometheus\t'Prometheus text exposition, e.g. for node_exporter\'s textfile collector'"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand workloads" -l state -d 'Only these states: names or groups, comma-separated or repeated (e.g. `--state close-wait,time-wait`). The kernel filters, so this is cheap' -r -f -a "(__fish_tcpstat_value states)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand workloads" -l port -d 'Sockets with this port on either side: a port, a list or a range (`80,443`, `8000-8100`)' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand workloads" -l sport -d 'Sockets whose local (source) port matches' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand workloads" -l dport -d 'Sockets whose remote (destination) port matches' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand workloads" -l src -d 'Sockets whose local address is in this network: an address or CIDR, IPv4 or IPv6 (`10.0.0.0/8`, `::1`). IPv4 networks also match IPv4-mapped IPv6 addresses' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand workloads" -l dst -d 'Sockets whose remote address is in this network' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand workloads" -l pid -d 'Sockets owned by this process (comma list or repeated; 1 or more). Resolves owners' -r -f -a "(__fish_tcpstat_value pids)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand workloads" -l process -d 'Sockets owned by a process with this command name: exact match on the kernel\'s command name (/proc/PID/comm, 15 bytes; a longer NAME matches on its first 15 bytes). Resolves owners' -r -f -a "(__fish_tcpstat_value processes)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand workloads" -l user -d 'Sockets owned by this user (the socket\'s uid): a name or a numeric uid' -r -f -a "(__fish_complete_users)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand workloads" -l cgroup -d 'Sockets of this cgroup and every cgroup below it: a cgroup v2 path as in /proc/PID/cgroup (`/system.slice/nginx.service`). The kernel filters by cgroup id, as `ss cgroup PATH` does; TIME_WAIT and SYN_RECV sockets, which have no cgroup, count when they are on a port the cgroup listens on. Needs the netlink source' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand workloads" -l workload -d 'Sockets of a workload, by any of its names (as `tcpstat workloads` shows them): a systemd unit (`nginx.service`), a container\'s name or id (12 hex digits at least), a pod (`NAME` or `NAMESPACE/NAME`), `NAMESPACE/POD/CONTAINER`. As --cgroup, for every cgroup it names' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand workloads" -l source -d 'Where to read sockets from: `auto` uses netlink and falls back to /proc (saying so on stderr); `netlink` fails instead of falling back; `proc` reads /proc/net/tcp{,6}, which cannot see CLOSED (bound-only) sockets' -r -f -a "auto\t''
netlink\t''
proc\t''"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand workloads" -l color -d 'When to colour the output: `auto` colours a terminal unless NO_COLOR is set or TERM=dumb; `always` beats the environment' -r -f -a "auto\t''
always\t''
never\t''"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand workloads" -l netns -d 'Read another network namespace: a name under /run/netns (as `ip netns` names them) or the path of a namespace file (/proc/PID/ns/net, a bind mount). Entering it needs CAP_SYS_ADMIN (root)' -r -f -a "(__fish_tcpstat_value netns)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand workloads" -l netns-pid -d 'Read the network namespace of process PID (e.g. a container\'s main process). Entering it needs CAP_SYS_ADMIN; `--source proc` reads /proc/PID/net/tcp{,6} without entering' -r -f -a "(__fish_tcpstat_value pid)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand workloads" -l host-root -d 'Where container runtimes keep their files (the host\'s `/`; e.g. `/host` in a container with the host\'s root mounted there): names of Docker and Podman containers and Kubernetes pods are read under it (var/lib/docker, var/lib/containers, run/containerd, run/containers, var/log/pods)' -r -f -a "(__fish_complete_directories)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand workloads" -l all-states -d 'Show a column for every state, not only those with sockets (or, with --state, those selected); states not selected or not visible to the source show `-`'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand workloads" -l json -d 'Print a JSON object instead of a table; --format json'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand workloads" -s 4 -l ipv4 -d 'Only IPv4 sockets'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand workloads" -s 6 -l ipv6 -d 'Only IPv6 sockets (IPv4-mapped addresses on IPv6 sockets count as IPv6, as in ss)'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand workloads" -l all-netns -d 'Read every network namespace of the host (those named under /run/netns and those of every process), each on its own: a NETNS column, and `netns_label` keys in JSON. A namespace that cannot be entered is reported and skipped. Needs CAP_SYS_ADMIN (root)'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand workloads" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand workloads" -s V -l version -d 'Print version'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand wl" -l by -d 'Group by workload (default), systemd unit, container, pod or raw cgroup path. Sockets of workloads that have no such thing (a service is in no pod) share one row' -r -f -a "workload\t'The most specific of pod container, container, systemd unit, else the cgroup path'
unit\t'The systemd unit (service, scope, user unit)'
container\t'The container, in a pod or not'
pod\t'The Kubernetes pod'
cgroup\t'The raw cgroup path'"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand wl" -l top -d 'Only the N workloads with the most sockets (N >= 1; the footer and JSON `workloads_omitted` say how many were left out). With --format prometheus: the N busiest (default 50; 0: none), the rest summed' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand wl" -l format -d 'Output format: table, json or prometheus' -r -f -a "table\t'A table for people'
json\t'One JSON object (schema: man tcpstat-json); the same as --json'
prometheus\t'Prometheus text exposition, e.g. for node_exporter\'s textfile collector'"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand wl" -l state -d 'Only these states: names or groups, comma-separated or repeated (e.g. `--state close-wait,time-wait`). The kernel filters, so this is cheap' -r -f -a "(__fish_tcpstat_value states)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand wl" -l port -d 'Sockets with this port on either side: a port, a list or a range (`80,443`, `8000-8100`)' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand wl" -l sport -d 'Sockets whose local (source) port matches' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand wl" -l dport -d 'Sockets whose remote (destination) port matches' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand wl" -l src -d 'Sockets whose local address is in this network: an address or CIDR, IPv4 or IPv6 (`10.0.0.0/8`, `::1`). IPv4 networks also match IPv4-mapped IPv6 addresses' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand wl" -l dst -d 'Sockets whose remote address is in this network' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand wl" -l pid -d 'Sockets owned by this process (comma list or repeated; 1 or more). Resolves owners' -r -f -a "(__fish_tcpstat_value pids)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand wl" -l process -d 'Sockets owned by a process with this command name: exact match on the kernel\'s command name (/proc/PID/comm, 15 bytes; a longer NAME matches on its first 15 bytes). Resolves owners' -r -f -a "(__fish_tcpstat_value processes)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand wl" -l user -d 'Sockets owned by this user (the socket\'s uid): a name or a numeric uid' -r -f -a "(__fish_complete_users)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand wl" -l cgroup -d 'Sockets of this cgroup and every cgroup below it: a cgroup v2 path as in /proc/PID/cgroup (`/system.slice/nginx.service`). The kernel filters by cgroup id, as `ss cgroup PATH` does; TIME_WAIT and SYN_RECV sockets, which have no cgroup, count when they are on a port the cgroup listens on. Needs the netlink source' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand wl" -l workload -d 'Sockets of a workload, by any of its names (as `tcpstat workloads` shows them): a systemd unit (`nginx.service`), a container\'s name or id (12 hex digits at least), a pod (`NAME` or `NAMESPACE/NAME`), `NAMESPACE/POD/CONTAINER`. As --cgroup, for every cgroup it names' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand wl" -l source -d 'Where to read sockets from: `auto` uses netlink and falls back to /proc (saying so on stderr); `netlink` fails instead of falling back; `proc` reads /proc/net/tcp{,6}, which cannot see CLOSED (bound-only) sockets' -r -f -a "auto\t''
netlink\t''
proc\t''"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand wl" -l color -d 'When to colour the output: `auto` colours a terminal unless NO_COLOR is set or TERM=dumb; `always` beats the environment' -r -f -a "auto\t''
always\t''
never\t''"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand wl" -l netns -d 'Read another network namespace: a name under /run/netns (as `ip netns` names them) or the path of a namespace file (/proc/PID/ns/net, a bind mount). Entering it needs CAP_SYS_ADMIN (root)' -r -f -a "(__fish_tcpstat_value netns)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand wl" -l netns-pid -d 'Read the network namespace of process PID (e.g. a container\'s main process). Entering it needs CAP_SYS_ADMIN; `--source proc` reads /proc/PID/net/tcp{,6} without entering' -r -f -a "(__fish_tcpstat_value pid)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand wl" -l host-root -d 'Where container runtimes keep their files (the host\'s `/`; e.g. `/host` in a container with the host\'s root mounted there): names of Docker and Podman containers and Kubernetes pods are read under it (var/lib/docker, var/lib/containers, run/containerd, run/containers, var/log/pods)' -r -f -a "(__fish_complete_directories)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand wl" -l all-states -d 'Show a column for every state, not only those with sockets (or, with --state, those selected); states not selected or not visible to the source show `-`'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand wl" -l json -d 'Print a JSON object instead of a table; --format json'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand wl" -s 4 -l ipv4 -d 'Only IPv4 sockets'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand wl" -s 6 -l ipv6 -d 'Only IPv6 sockets (IPv4-mapped addresses on IPv6 sockets count as IPv6, as in ss)'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand wl" -l all-netns -d 'Read every network namespace of the host (those named under /run/netns and those of every process), each on its own: a NETNS column, and `netns_label` keys in JSON. A namespace that cannot be entered is reported and skipped. Needs CAP_SYS_ADMIN (root)'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand wl" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand wl" -s V -l version -d 'Print version'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand health" -l by -d 'Group by service port (default), peer address, peer network, process or workload' -r -f -a "service\t'The service port and direction (as `ports`)'
peer\t'The remote address'
prefix\t'The remote address\'s network (--prefix, --prefix6)'
process\t'The owning process (walks /proc/*/fd; a socket shared by several processes counts for each)'
workload\t'The workload of the socket\'s cgroup: systemd unit, container, pod (as `workloads`)'"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand health" -l prefix -d 'With --by prefix: the length of an IPv4 peer\'s network' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand health" -l prefix6 -d 'With --by prefix: the length of an IPv6 peer\'s network' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand health" -l stall -d 'A connection with data queued and nothing acknowledged for this long is stalled (e.g. 5s, 500ms)' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand health" -l top -d 'Only the N groups that retransmit most (then the busiest); JSON `groups_omitted` says how many were left out' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand health" -l state -d 'Only these states: names or groups, comma-separated or repeated (e.g. `--state close-wait,time-wait`). The kernel filters, so this is cheap' -r -f -a "(__fish_tcpstat_value states)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand health" -l port -d 'Sockets with this port on either side: a port, a list or a range (`80,443`, `8000-8100`)' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand health" -l sport -d 'Sockets whose local (source) port matches' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand health" -l dport -d 'Sockets whose remote (destination) port matches' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand health" -l src -d 'Sockets whose local address is in this network: an address or CIDR, IPv4 or IPv6 (`10.0.0.0/8`, `::1`). IPv4 networks also match IPv4-mapped IPv6 addresses' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand health" -l dst -d 'Sockets whose remote address is in this network' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand health" -l pid -d 'Sockets owned by this process (comma list or repeated; 1 or more). Resolves owners' -r -f -a "(__fish_tcpstat_value pids)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand health" -l process -d 'Sockets owned by a process with this command name: exact match on the kernel\'s command name (/proc/PID/comm, 15 bytes; a longer NAME matches on its first 15 bytes). Resolves owners' -r -f -a "(__fish_tcpstat_value processes)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand health" -l user -d 'Sockets owned by this user (the socket\'s uid): a name or a numeric uid' -r -f -a "(__fish_complete_users)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand health" -l cgroup -d 'Sockets of this cgroup and every cgroup below it: a cgroup v2 path as in /proc/PID/cgroup (`/system.slice/nginx.service`). The kernel filters by cgroup id, as `ss cgroup PATH` does; TIME_WAIT and SYN_RECV sockets, which have no cgroup, count when they are on a port the cgroup listens on. Needs the netlink source' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand health" -l workload -d 'Sockets of a workload, by any of its names (as `tcpstat workloads` shows them): a systemd unit (`nginx.service`), a container\'s name or id (12 hex digits at least), a pod (`NAME` or `NAMESPACE/NAME`), `NAMESPACE/POD/CONTAINER`. As --cgroup, for every cgroup it names' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand health" -l source -d 'Where to read sockets from: `auto` uses netlink and falls back to /proc (saying so on stderr); `netlink` fails instead of falling back; `proc` reads /proc/net/tcp{,6}, which cannot see CLOSED (bound-only) sockets' -r -f -a "auto\t''
netlink\t''
proc\t''"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand health" -l color -d 'When to colour the output: `auto` colours a terminal unless NO_COLOR is set or TERM=dumb; `always` beats the environment' -r -f -a "auto\t''
always\t''
never\t''"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand health" -l netns -d 'Read another network namespace: a name under /run/netns (as `ip netns` names them) or the path of a namespace file (/proc/PID/ns/net, a bind mount). Entering it needs CAP_SYS_ADMIN (root)' -r -f -a "(__fish_tcpstat_value netns)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand health" -l netns-pid -d 'Read the network namespace of process PID (e.g. a container\'s main process). Entering it needs CAP_SYS_ADMIN; `--source proc` reads /proc/PID/net/tcp{,6} without entering' -r -f -a "(__fish_tcpstat_value pid)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand health" -l host-root -d 'Where container runtimes keep their files (the host\'s `/`; e.g. `/host` in a container with the host\'s root mounted there): names of Docker and Podman containers and Kubernetes pods are read under it (var/lib/docker, var/lib/containers, run/containerd, run/containers, var/log/pods)' -r -f -a "(__fish_complete_directories)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand health" -l json -d 'Print a JSON object instead of a table'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand health" -s 4 -l ipv4 -d 'Only IPv4 sockets'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand health" -s 6 -l ipv6 -d 'Only IPv6 sockets (IPv4-mapped addresses on IPv6 sockets count as IPv6, as in ss)'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand health" -l all-netns -d 'Read every network namespace of the host (those named under /run/netns and those of every process), each on its own: a NETNS column, and `netns_label` keys in JSON. A namespace that cannot be entered is reported and skipped. Needs CAP_SYS_ADMIN (root)'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand health" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand health" -s V -l version -d 'Print version'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand list" -l sort -d 'Sort rows (this reads the whole table before printing)' -r -f -a "state\t'Lifecycle order of the state'
local\t'Local address, then port'
remote\t'Remote address, then port'
port\t'Local port'
pid\t'First owning process id (resolves owners)'
queue\t'Receive + send queue, largest first'"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand list" -l state -d 'Only these states: names or groups, comma-separated or repeated (e.g. `--state close-wait,time-wait`). The kernel filters, so this is cheap' -r -f -a "(__fish_tcpstat_value states)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand list" -l port -d 'Sockets with this port on either side: a port, a list or a range (`80,443`, `8000-8100`)' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand list" -l sport -d 'Sockets whose local (source) port matches' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand list" -l dport -d 'Sockets whose remote (destination) port matches' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand list" -l src -d 'Sockets whose local address is in this network: an address or CIDR, IPv4 or IPv6 (`10.0.0.0/8`, `::1`). IPv4 networks also match IPv4-mapped IPv6 addresses' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand list" -l dst -d 'Sockets whose remote address is in this network' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand list" -l pid -d 'Sockets owned by this process (comma list or repeated; 1 or more). Resolves owners' -r -f -a "(__fish_tcpstat_value pids)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand list" -l process -d 'Sockets owned by a process with this command name: exact match on the kernel\'s command name (/proc/PID/comm, 15 bytes; a longer NAME matches on its first 15 bytes). Resolves owners' -r -f -a "(__fish_tcpstat_value processes)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand list" -l user -d 'Sockets owned by this user (the socket\'s uid): a name or a numeric uid' -r -f -a "(__fish_complete_users)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand list" -l cgroup -d 'Sockets of this cgroup and every cgroup below it: a cgroup v2 path as in /proc/PID/cgroup (`/system.slice/nginx.service`). The kernel filters by cgroup id, as `ss cgroup PATH` does; TIME_WAIT and SYN_RECV sockets, which have no cgroup, count when they are on a port the cgroup listens on. Needs the netlink source' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand list" -l workload -d 'Sockets of a workload, by any of its names (as `tcpstat workloads` shows them): a systemd unit (`nginx.service`), a container\'s name or id (12 hex digits at least), a pod (`NAME` or `NAMESPACE/NAME`), `NAMESPACE/POD/CONTAINER`. As --cgroup, for every cgroup it names' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand list" -l source -d 'Where to read sockets from: `auto` uses netlink and falls back to /proc (saying so on stderr); `netlink` fails instead of falling back; `proc` reads /proc/net/tcp{,6}, which cannot see CLOSED (bound-only) sockets' -r -f -a "auto\t''
netlink\t''
proc\t''"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand list" -l color -d 'When to colour the output: `auto` colours a terminal unless NO_COLOR is set or TERM=dumb; `always` beats the environment' -r -f -a "auto\t''
always\t''
never\t''"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand list" -l netns -d 'Read another network namespace: a name under /run/netns (as `ip netns` names them) or the path of a namespace file (/proc/PID/ns/net, a bind mount). Entering it needs CAP_SYS_ADMIN (root)' -r -f -a "(__fish_tcpstat_value netns)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand list" -l netns-pid -d 'Read the network namespace of process PID (e.g. a container\'s main process). Entering it needs CAP_SYS_ADMIN; `--source proc` reads /proc/PID/net/tcp{,6} without entering' -r -f -a "(__fish_tcpstat_value pid)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand list" -l host-root -d 'Where container runtimes keep their files (the host\'s `/`; e.g. `/host` in a container with the host\'s root mounted there): names of Docker and Podman containers and Kubernetes pods are read under it (var/lib/docker, var/lib/containers, run/containerd, run/containers, var/log/pods)' -r -f -a "(__fish_complete_directories)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand list" -s p -l processes -d 'Show the owning processes (pid/command); walks /proc/*/fd once'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand list" -s o -l timers -d 'Show the active timer (TIME_WAIT remaining, retransmit, keepalive, probe)'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand list" -s i -l info -d 'Show the kernel\'s tcp_info (as `ss -i`): RTT, cwnd, retransmits, unacked segments, the peer\'s window, congestion control; JSON has every field (`tcp_info`). Asked from the kernel only with this flag; the /proc source has none'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand list" -s m -l memory -d 'Show socket memory (as `ss -m`, INET_DIAG_SKMEMINFO): receive/send buffer use and sizes, drops; JSON: `memory`'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand list" -s W -l workloads -d 'Show each socket\'s workload (systemd unit, container, pod; see `tcpstat workloads`)'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand list" -l json -d 'Print one JSON object, its `sockets` array streamed row by row'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand list" -l ndjson -d 'Print one JSON object per socket per line (streamed), then an `end` line'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand list" -l no-header -d 'Do not print the header line'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand list" -s 4 -l ipv4 -d 'Only IPv4 sockets'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand list" -s 6 -l ipv6 -d 'Only IPv6 sockets (IPv4-mapped addresses on IPv6 sockets count as IPv6, as in ss)'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand list" -l all-netns -d 'Read every network namespace of the host (those named under /run/netns and those of every process), each on its own: a NETNS column, and `netns_label` keys in JSON. A namespace that cannot be entered is reported and skipped. Needs CAP_SYS_ADMIN (root)'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand list" -s V -l version -d 'Print version'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand ls" -l sort -d 'Sort rows (this reads the whole table before printing)' -r -f -a "state\t'Lifecycle order of the state'
local\t'Local address, then port'
remote\t'Remote address, then port'
port\t'Local port'
pid\t'First owning process id (resolves owners)'
queue\t'Receive + send queue, largest first'"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand ls" -l state -d 'Only these states: names or groups, comma-separated or repeated (e.g. `--state close-wait,time-wait`). The kernel filters, so this is cheap' -r -f -a "(__fish_tcpstat_value states)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand ls" -l port -d 'Sockets with this port on either side: a port, a list or a range (`80,443`, `8000-8100`)' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand ls" -l sport -d 'Sockets whose local (source) port matches' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand ls" -l dport -d 'Sockets whose remote (destination) port matches' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand ls" -l src -d 'Sockets whose local address is in this network: an address or CIDR, IPv4 or IPv6 (`10.0.0.0/8`, `::1`). IPv4 networks also match IPv4-mapped IPv6 addresses' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand ls" -l dst -d 'Sockets whose remote address is in this network' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand ls" -l pid -d 'Sockets owned by this process (comma list or repeated; 1 or more). Resolves owners' -r -f -a "(__fish_tcpstat_value pids)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand ls" -l process -d 'Sockets owned by a process with this command name: exact match on the kernel\'s command name (/proc/PID/comm, 15 bytes; a longer NAME matches on its first 15 bytes). Resolves owners' -r -f -a "(__fish_tcpstat_value processes)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand ls" -l user -d 'Sockets owned by this user (the socket\'s uid): a name or a numeric uid' -r -f -a "(__fish_complete_users)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand ls" -l cgroup -d 'Sockets of this cgroup and every cgroup below it: a cgroup v2 path as in /proc/PID/cgroup (`/system.slice/nginx.service`). The kernel filters by cgroup id, as `ss cgroup PATH` does; TIME_WAIT and SYN_RECV sockets, which have no cgroup, count when they are on a port the cgroup listens on. Needs the netlink source' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand ls" -l workload -d 'Sockets of a workload, by any of its names (as `tcpstat workloads` shows them): a systemd unit (`nginx.service`), a container\'s name or id (12 hex digits at least), a pod (`NAME` or `NAMESPACE/NAME`), `NAMESPACE/POD/CONTAINER`. As --cgroup, for every cgroup it names' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand ls" -l source -d 'Where to read sockets from: `auto` uses netlink and falls back to /proc (saying so on stderr); `netlink` fails instead of falling back; `proc` reads /proc/net/tcp{,6}, which cannot see CLOSED (bound-only) sockets' -r -f -a "auto\t''
netlink\t''
proc\t''"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand ls" -l color -d 'When to colour the output: `auto` colours a terminal unless NO_COLOR is set or TERM=dumb; `always` beats the environment' -r -f -a "auto\t''
always\t''
never\t''"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand ls" -l netns -d 'Read another network namespace: a name under /run/netns (as `ip netns` names them) or the path of a namespace file (/proc/PID/ns/net, a bind mount). Entering it needs CAP_SYS_ADMIN (root)' -r -f -a "(__fish_tcpstat_value netns)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand ls" -l netns-pid -d 'Read the network namespace of process PID (e.g. a container\'s main process). Entering it needs CAP_SYS_ADMIN; `--source proc` reads /proc/PID/net/tcp{,6} without entering' -r -f -a "(__fish_tcpstat_value pid)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand ls" -l host-root -d 'Where container runtimes keep their files (the host\'s `/`; e.g. `/host` in a container with the host\'s root mounted there): names of Docker and Podman containers and Kubernetes pods are read under it (var/lib/docker, var/lib/containers, run/containerd, run/containers, var/log/pods)' -r -f -a "(__fish_complete_directories)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand ls" -s p -l processes -d 'Show the owning processes (pid/command); walks /proc/*/fd once'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand ls" -s o -l timers -d 'Show the active timer (TIME_WAIT remaining, retransmit, keepalive, probe)'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand ls" -s i -l info -d 'Show the kernel\'s tcp_info (as `ss -i`): RTT, cwnd, retransmits, unacked segments, the peer\'s window, congestion control; JSON has every field (`tcp_info`). Asked from the kernel only with this flag; the /proc source has none'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand ls" -s m -l memory -d 'Show socket memory (as `ss -m`, INET_DIAG_SKMEMINFO): receive/send buffer use and sizes, drops; JSON: `memory`'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand ls" -s W -l workloads -d 'Show each socket\'s workload (systemd unit, container, pod; see `tcpstat workloads`)'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand ls" -l json -d 'Print one JSON object, its `sockets` array streamed row by row'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand ls" -l ndjson -d 'Print one JSON object per socket per line (streamed), then an `end` line'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand ls" -l no-header -d 'Do not print the header line'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand ls" -s 4 -l ipv4 -d 'Only IPv4 sockets'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand ls" -s 6 -l ipv6 -d 'Only IPv6 sockets (IPv4-mapped addresses on IPv6 sockets count as IPv6, as in ss)'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand ls" -l all-netns -d 'Read every network namespace of the host (those named under /run/netns and those of every process), each on its own: a NETNS column, and `netns_label` keys in JSON. A namespace that cannot be entered is reported and skipped. Needs CAP_SYS_ADMIN (root)'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand ls" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand ls" -s V -l version -d 'Print version'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand watch" -s n -l interval -d 'Time between collections: 500ms, 2s, 1m, ...' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand watch" -s c -l count -d 'Stop after N ticks' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand watch" -l by -d 'Group the top list by service port, owning process, remote address or workload' -r -f -a "port\t'Service port (as `tcpstat ports`)'
process\t'Owning process (walks /proc/*/fd each tick)'
remote\t'Remote address'
workload\t'Workload: systemd unit, container or pod (as `tcpstat workloads`)'"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand watch" -l top -d 'Length of the top and age lists (at least 1)' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand watch" -l older-than -d 'Only report sockets that have been in their state at least this long (e.g. 5m)' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand watch" -l stall -d 'With --health: a connection with data queued and nothing acknowledged for this long is stalled (e.g. 5s, 500ms)' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand watch" -l state -d 'Only these states: names or groups, comma-separated or repeated (e.g. `--state close-wait,time-wait`). The kernel filters, so this is cheap' -r -f -a "(__fish_tcpstat_value states)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand watch" -l port -d 'Sockets with this port on either side: a port, a list or a range (`80,443`, `8000-8100`)' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand watch" -l sport -d 'Sockets whose local (source) port matches' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand watch" -l dport -d 'Sockets whose remote (destination) port matches' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand watch" -l src -d 'Sockets whose local address is in this network: an address or CIDR, IPv4 or IPv6 (`10.0.0.0/8`, `::1`). IPv4 networks also match IPv4-mapped IPv6 addresses' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand watch" -l dst -d 'Sockets whose remote address is in this network' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand watch" -l pid -d 'Sockets owned by this process (comma list or repeated; 1 or more). Resolves owners' -r -f -a "(__fish_tcpstat_value pids)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand watch" -l process -d 'Sockets owned by a process with this command name: exact match on the kernel\'s command name (/proc/PID/comm, 15 bytes; a longer NAME matches on its first 15 bytes). Resolves owners' -r -f -a "(__fish_tcpstat_value processes)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand watch" -l user -d 'Sockets owned by this user (the socket\'s uid): a name or a numeric uid' -r -f -a "(__fish_complete_users)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand watch" -l cgroup -d 'Sockets of this cgroup and every cgroup below it: a cgroup v2 path as in /proc/PID/cgroup (`/system.slice/nginx.service`). The kernel filters by cgroup id, as `ss cgroup PATH` does; TIME_WAIT and SYN_RECV sockets, which have no cgroup, count when they are on a port the cgroup listens on. Needs the netlink source' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand watch" -l workload -d 'Sockets of a workload, by any of its names (as `tcpstat workloads` shows them): a systemd unit (`nginx.service`), a container\'s name or id (12 hex digits at least), a pod (`NAME` or `NAMESPACE/NAME`), `NAMESPACE/POD/CONTAINER`. As --cgroup, for every cgroup it names' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand watch" -l source -d 'Where to read sockets from: `auto` uses netlink and falls back to /proc (saying so on stderr); `netlink` fails instead of falling back; `proc` reads /proc/net/tcp{,6}, which cannot see CLOSED (bound-only) sockets' -r -f -a "auto\t''
netlink\t''
proc\t''"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand watch" -l color -d 'When to colour the output: `auto` colours a terminal unless NO_COLOR is set or TERM=dumb; `always` beats the environment' -r -f -a "auto\t''
always\t''
never\t''"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand watch" -l netns -d 'Read another network namespace: a name under /run/netns (as `ip netns` names them) or the path of a namespace file (/proc/PID/ns/net, a bind mount). Entering it needs CAP_SYS_ADMIN (root)' -r -f -a "(__fish_tcpstat_value netns)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand watch" -l netns-pid -d 'Read the network namespace of process PID (e.g. a container\'s main process). Entering it needs CAP_SYS_ADMIN; `--source proc` reads /proc/PID/net/tcp{,6} without entering' -r -f -a "(__fish_tcpstat_value pid)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand watch" -l host-root -d 'Where container runtimes keep their files (the host\'s `/`; e.g. `/host` in a container with the host\'s root mounted there): names of Docker and Podman containers and Kubernetes pods are read under it (var/lib/docker, var/lib/containers, run/containerd, run/containers, var/log/pods)' -r -f -a "(__fish_complete_directories)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand watch" -l health -d 'Also show connection health per service port: connections, RTT p50/p99, retransmitted segments per second (the growth of each connection\'s total since the tick before), connections retransmitting, facing a zero window or stalled, and queued bytes (asks the kernel for every connection\'s tcp_info; netlink only)'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand watch" -l events -d 'Also report the sockets that entered or left the watched states since the last tick'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand watch" -l json -d 'Print NDJSON (one object per tick) even on a terminal'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand watch" -s 4 -l ipv4 -d 'Only IPv4 sockets'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand watch" -s 6 -l ipv6 -d 'Only IPv6 sockets (IPv4-mapped addresses on IPv6 sockets count as IPv6, as in ss)'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand watch" -l all-netns -d 'Read every network namespace of the host (those named under /run/netns and those of every process), each on its own: a NETNS column, and `netns_label` keys in JSON. A namespace that cannot be entered is reported and skipped. Needs CAP_SYS_ADMIN (root)'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand watch" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand watch" -s V -l version -d 'Print version'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand doctor" -l threshold -d 'Override a threshold: KEY=WARN[,CRIT], e.g. CLOSE_WAIT=100 or TIME_WAIT=80%,95% (keys and defaults below). Repeatable' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand doctor" -l at -d 'Diagnose a recorded moment instead of now: the sample of `tcpstat record` nearest to TIME (as `history --at`: 3h, 14:30, 2024-06-19 14:30, RFC 3339), at most two recording intervals away, judged by the same rules; what the recording does not hold is said, and a check it cannot support is reported as not checked' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand doctor" -l db -d 'The history database for --at' -r -F
complete -c tcpstat -n "__fish_tcpstat_using_subcommand doctor" -l state -d 'Only these states: names or groups, comma-separated or repeated (e.g. `--state close-wait,time-wait`). The kernel filters, so this is cheap' -r -f -a "(__fish_tcpstat_value states)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand doctor" -l port -d 'Sockets with this port on either side: a port, a list or a range (`80,443`, `8000-8100`)' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand doctor" -l sport -d 'Sockets whose local (source) port matches' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand doctor" -l dport -d 'Sockets whose remote (destination) port matches' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand doctor" -l src -d 'Sockets whose local address is in this network: an address or CIDR, IPv4 or IPv6 (`10.0.0.0/8`, `::1`). IPv4 networks also match IPv4-mapped IPv6 addresses' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand doctor" -l dst -d 'Sockets whose remote address is in this network' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand doctor" -l pid -d 'Sockets owned by this process (comma list or repeated; 1 or more). Resolves owners' -r -f -a "(__fish_tcpstat_value pids)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand doctor" -l process -d 'Sockets owned by a process with this command name: exact match on the kernel\'s command name (/proc/PID/comm, 15 bytes; a longer NAME matches on its first 15 bytes). Resolves owners' -r -f -a "(__fish_tcpstat_value processes)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand doctor" -l user -d 'Sockets owned by this user (the socket\'s uid): a name or a numeric uid' -r -f -a "(__fish_complete_users)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand doctor" -l cgroup -d 'Sockets of this cgroup and every cgroup below it: a cgroup v2 path as in /proc/PID/cgroup (`/system.slice/nginx.service`). The kernel filters by cgroup id, as `ss cgroup PATH` does; TIME_WAIT and SYN_RECV sockets, which have no cgroup, count when they are on a port the cgroup listens on. Needs the netlink source' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand doctor" -l workload -d 'Sockets of a workload, by any of its names (as `tcpstat workloads` shows them): a systemd unit (`nginx.service`), a container\'s name or id (12 hex digits at least), a pod (`NAME` or `NAMESPACE/NAME`), `NAMESPACE/POD/CONTAINER`. As --cgroup, for every cgroup it names' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand doctor" -l source -d 'Where to read sockets from: `auto` uses netlink and falls back to /proc (saying so on stderr); `netlink` fails instead of falling back; `proc` reads /proc/net/tcp{,6}, which cannot see CLOSED (bound-only) sockets' -r -f -a "auto\t''
netlink\t''
proc\t''"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand doctor" -l color -d 'When to colour the output: `auto` colours a terminal unless NO_COLOR is set or TERM=dumb; `always` beats the environment' -r -f -a "auto\t''
always\t''
never\t''"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand doctor" -l netns -d 'Read another network namespace: a name under /run/netns (as `ip netns` names them) or the path of a namespace file (/proc/PID/ns/net, a bind mount). Entering it needs CAP_SYS_ADMIN (root)' -r -f -a "(__fish_tcpstat_value netns)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand doctor" -l netns-pid -d 'Read the network namespace of process PID (e.g. a container\'s main process). Entering it needs CAP_SYS_ADMIN; `--source proc` reads /proc/PID/net/tcp{,6} without entering' -r -f -a "(__fish_tcpstat_value pid)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand doctor" -l host-root -d 'Where container runtimes keep their files (the host\'s `/`; e.g. `/host` in a container with the host\'s root mounted there): names of Docker and Podman containers and Kubernetes pods are read under it (var/lib/docker, var/lib/containers, run/containerd, run/containers, var/log/pods)' -r -f -a "(__fish_complete_directories)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand doctor" -l json -d 'Print one JSON object instead of text'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand doctor" -s 4 -l ipv4 -d 'Only IPv4 sockets'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand doctor" -s 6 -l ipv6 -d 'Only IPv6 sockets (IPv4-mapped addresses on IPv6 sockets count as IPv6, as in ss)'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand doctor" -l all-netns -d 'Read every network namespace of the host (those named under /run/netns and those of every process), each on its own: a NETNS column, and `netns_label` keys in JSON. A namespace that cannot be entered is reported and skipped. Needs CAP_SYS_ADMIN (root)'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand doctor" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand doctor" -s V -l version -d 'Print version'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand check" -s w -l warn -d 'WARNING when KEY\'s count is outside RANGE: [KEY[:PORT]=]RANGE, e.g. CLOSE_WAIT=100, or 100 for every selected socket. Repeatable' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand check" -s c -l crit -d 'CRITICAL when KEY\'s count is outside RANGE: [KEY[:PORT]=]RANGE, e.g. CLOSE_WAIT=500, or 500 for every selected socket. Repeatable' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand check" -s t -l timeout -d 'Give up after this long with an UNKNOWN line (before the monitoring system kills the plugin and reports CRITICAL): 10s, 500ms, or seconds' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand check" -l state -d 'Only these states: names or groups, comma-separated or repeated (e.g. `--state close-wait,time-wait`). The kernel filters, so this is cheap' -r -f -a "(__fish_tcpstat_value states)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand check" -l port -d 'Sockets with this port on either side: a port, a list or a range (`80,443`, `8000-8100`)' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand check" -l sport -d 'Sockets whose local (source) port matches' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand check" -l dport -d 'Sockets whose remote (destination) port matches' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand check" -l src -d 'Sockets whose local address is in this network: an address or CIDR, IPv4 or IPv6 (`10.0.0.0/8`, `::1`). IPv4 networks also match IPv4-mapped IPv6 addresses' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand check" -l dst -d 'Sockets whose remote address is in this network' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand check" -l pid -d 'Sockets owned by this process (comma list or repeated; 1 or more). Resolves owners' -r -f -a "(__fish_tcpstat_value pids)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand check" -l process -d 'Sockets owned by a process with this command name: exact match on the kernel\'s command name (/proc/PID/comm, 15 bytes; a longer NAME matches on its first 15 bytes). Resolves owners' -r -f -a "(__fish_tcpstat_value processes)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand check" -l user -d 'Sockets owned by this user (the socket\'s uid): a name or a numeric uid' -r -f -a "(__fish_complete_users)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand check" -l cgroup -d 'Sockets of this cgroup and every cgroup below it: a cgroup v2 path as in /proc/PID/cgroup (`/system.slice/nginx.service`). The kernel filters by cgroup id, as `ss cgroup PATH` does; TIME_WAIT and SYN_RECV sockets, which have no cgroup, count when they are on a port the cgroup listens on. Needs the netlink source' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand check" -l workload -d 'Sockets of a workload, by any of its names (as `tcpstat workloads` shows them): a systemd unit (`nginx.service`), a container\'s name or id (12 hex digits at least), a pod (`NAME` or `NAMESPACE/NAME`), `NAMESPACE/POD/CONTAINER`. As --cgroup, for every cgroup it names' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand check" -l source -d 'Where to read sockets from: `auto` uses netlink and falls back to /proc (saying so on stderr); `netlink` fails instead of falling back; `proc` reads /proc/net/tcp{,6}, which cannot see CLOSED (bound-only) sockets' -r -f -a "auto\t''
netlink\t''
proc\t''"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand check" -l color -d 'When to colour the output: `auto` colours a terminal unless NO_COLOR is set or TERM=dumb; `always` beats the environment' -r -f -a "auto\t''
always\t''
never\t''"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand check" -l netns -d 'Read another network namespace: a name under /run/netns (as `ip netns` names them) or the path of a namespace file (/proc/PID/ns/net, a bind mount). Entering it needs CAP_SYS_ADMIN (root)' -r -f -a "(__fish_tcpstat_value netns)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand check" -l netns-pid -d 'Read the network namespace of process PID (e.g. a container\'s main process). Entering it needs CAP_SYS_ADMIN; `--source proc` reads /proc/PID/net/tcp{,6} without entering' -r -f -a "(__fish_tcpstat_value pid)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand check" -l host-root -d 'Where container runtimes keep their files (the host\'s `/`; e.g. `/host` in a container with the host\'s root mounted there): names of Docker and Podman containers and Kubernetes pods are read under it (var/lib/docker, var/lib/containers, run/containerd, run/containers, var/log/pods)' -r -f -a "(__fish_complete_directories)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand check" -s v -l verbose -d 'More in the status: -v adds where the numbers came from and every warning; -vv adds one line per measured value after the status line (long output)'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand check" -s 4 -l ipv4 -d 'Only IPv4 sockets'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand check" -s 6 -l ipv6 -d 'Only IPv6 sockets (IPv4-mapped addresses on IPv6 sockets count as IPv6, as in ss)'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand check" -l all-netns -d 'Read every network namespace of the host (those named under /run/netns and those of every process), each on its own: a NETNS column, and `netns_label` keys in JSON. A namespace that cannot be entered is reported and skipped. Needs CAP_SYS_ADMIN (root)'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand check" -s h -l help -d 'Print help'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand check" -s V -l version -d 'Print version'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand serve" -l listen -d 'Address and port to listen on. Loopback by default; any other address (0.0.0.0, a public interface) exposes socket counts to whoever can reach it' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand serve" -l top-ports -d 'Ports in tcpstat_port_sockets that are not listened on: the N busiest; the rest are summed as port="other"' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand serve" -l top-listening -d 'Listening ports in tcpstat_port_sockets and the queue metrics: the N with the fullest accept queues (then the busiest); the rest are summed as port="other"' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand serve" -l top-processes -d 'Commands in tcpstat_process_sockets (with --processes): the N busiest' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand serve" -l top-workloads -d 'Workloads in tcpstat_workload_sockets (with --workloads): the N busiest; the rest are summed in tcpstat_workload_other_sockets' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand serve" -l stall -d 'With --health: a connection with data queued and nothing acknowledged for this long is stalled (e.g. 5s, 500ms)' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand serve" -l max-connections -d 'Connections served at once. When all are taken, a new one takes the slot of the oldest connection still sending its request (answered 503), else of the one that has been taking its response for more than a second (reset: a client that does not read); when every one is busy with something recent, the new one is answered 503 at once' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand serve" -l state -d 'Only these states: names or groups, comma-separated or repeated (e.g. `--state close-wait,time-wait`). The kernel filters, so this is cheap' -r -f -a "(__fish_tcpstat_value states)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand serve" -l port -d 'Sockets with this port on either side: a port, a list or a range (`80,443`, `8000-8100`)' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand serve" -l sport -d 'Sockets whose local (source) port matches' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand serve" -l dport -d 'Sockets whose remote (destination) port matches' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand serve" -l src -d 'Sockets whose local address is in this network: an address or CIDR, IPv4 or IPv6 (`10.0.0.0/8`, `::1`). IPv4 networks also match IPv4-mapped IPv6 addresses' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand serve" -l dst -d 'Sockets whose remote address is in this network' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand serve" -l pid -d 'Sockets owned by this process (comma list or repeated; 1 or more). Resolves owners' -r -f -a "(__fish_tcpstat_value pids)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand serve" -l process -d 'Sockets owned by a process with this command name: exact match on the kernel\'s command name (/proc/PID/comm, 15 bytes; a longer NAME matches on its first 15 bytes). Resolves owners' -r -f -a "(__fish_tcpstat_value processes)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand serve" -l user -d 'Sockets owned by this user (the socket\'s uid): a name or a numeric uid' -r -f -a "(__fish_complete_users)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand serve" -l cgroup -d 'Sockets of this cgroup and every cgroup below it: a cgroup v2 path as in /proc/PID/cgroup (`/system.slice/nginx.service`). The kernel filters by cgroup id, as `ss cgroup PATH` does; TIME_WAIT and SYN_RECV sockets, which have no cgroup, count when they are on a port the cgroup listens on. Needs the netlink source' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand serve" -l workload -d 'Sockets of a workload, by any of its names (as `tcpstat workloads` shows them): a systemd unit (`nginx.service`), a container\'s name or id (12 hex digits at least), a pod (`NAME` or `NAMESPACE/NAME`), `NAMESPACE/POD/CONTAINER`. As --cgroup, for every cgroup it names' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand serve" -l source -d 'Where to read sockets from: `auto` uses netlink and falls back to /proc (saying so on stderr); `netlink` fails instead of falling back; `proc` reads /proc/net/tcp{,6}, which cannot see CLOSED (bound-only) sockets' -r -f -a "auto\t''
netlink\t''
proc\t''"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand serve" -l color -d 'When to colour the output: `auto` colours a terminal unless NO_COLOR is set or TERM=dumb; `always` beats the environment' -r -f -a "auto\t''
always\t''
never\t''"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand serve" -l netns -d 'Read another network namespace: a name under /run/netns (as `ip netns` names them) or the path of a namespace file (/proc/PID/ns/net, a bind mount). Entering it needs CAP_SYS_ADMIN (root)' -r -f -a "(__fish_tcpstat_value netns)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand serve" -l netns-pid -d 'Read the network namespace of process PID (e.g. a container\'s main process). Entering it needs CAP_SYS_ADMIN; `--source proc` reads /proc/PID/net/tcp{,6} without entering' -r -f -a "(__fish_tcpstat_value pid)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand serve" -l host-root -d 'Where container runtimes keep their files (the host\'s `/`; e.g. `/host` in a container with the host\'s root mounted there): names of Docker and Podman containers and Kubernetes pods are read under it (var/lib/docker, var/lib/containers, run/containerd, run/containers, var/log/pods)' -r -f -a "(__fish_complete_directories)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand serve" -l processes -d 'Also export tcpstat_process_sockets{command,state} (walks /proc/*/fd on every scrape)'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand serve" -l workloads -d 'Also export tcpstat_workload_sockets{workload,kind,state} (systemd units, containers, pods; from each socket\'s cgroup id, so no walk of /proc/*/fd; new cgroups are looked up as they appear)'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand serve" -l health -d 'Also export connection health per service port: an RTT histogram, retransmitted segments (a counter), connections retransmitting, facing a zero window or stalled, and queued bytes (asks the kernel for every connection\'s tcp_info; netlink only). The first --top-listening plus --top-ports ports seen keep series for the life of the process'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand serve" -s 4 -l ipv4 -d 'Only IPv4 sockets'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand serve" -s 6 -l ipv6 -d 'Only IPv6 sockets (IPv4-mapped addresses on IPv6 sockets count as IPv6, as in ss)'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand serve" -l all-netns -d 'Read every network namespace of the host (those named under /run/netns and those of every process), each on its own: a NETNS column, and `netns_label` keys in JSON. A namespace that cannot be entered is reported and skipped. Needs CAP_SYS_ADMIN (root)'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand serve" -s h -l help -d 'Print help'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand serve" -s V -l version -d 'Print version'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand record" -l db -d 'The history database (created with its directory if missing)' -r -F
complete -c tcpstat -n "__fish_tcpstat_using_subcommand record" -s n -l interval -d 'Time between samples: 10s by default (see below); 200ms to 1h' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand record" -l keep -d 'Delete samples older than this' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand record" -l max-size -d 'Keep the database file under this size, deleting the oldest samples first (the WAL beside it adds up to 4 MiB)' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand record" -l top -d 'Ports (listening ones by fullest accept queue, the others by sockets) and workloads (by sockets in stuck states) kept per sample; the rest are summed as port 0 and "(other)"' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand record" -l top-processes -d 'Processes kept per sample, by sockets in stuck states (SYN_SENT, SYN_RECV, FIN_WAIT_1, FIN_WAIT_2, CLOSE_WAIT, CLOSING, LAST_ACK), then by sockets; the rest are summed as "(other)"' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand record" -l processes -d 'When to look up the owning processes (a walk of /proc/*/fd, which costs with the descriptors on the host): auto on every sample while the walks fit in --cpu-budget, less often on hosts where a walk takes longer (samples between hold no processes); always on every sample; never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand record" -l cpu-budget -d 'The share of one core the recorder may take, measured over any period (its whole CPU: dumps, process lookups, writes). Where a sample costs more than the budget allows at --interval, samples are spaced further apart, and said; none for no limit' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand record" -s c -l count -d 'Stop after N samples' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand record" -l source -d 'Where to read sockets from: `auto` uses netlink and falls back to /proc (saying so on stderr); `netlink` fails instead of falling back; `proc` reads /proc/net/tcp{,6}, which cannot see CLOSED (bound-only) sockets' -r -f -a "auto\t''
netlink\t''
proc\t''"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand record" -l color -d 'When to colour the output: `auto` colours a terminal unless NO_COLOR is set or TERM=dumb; `always` beats the environment' -r -f -a "auto\t''
always\t''
never\t''"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand record" -l netns -d 'Read another network namespace: a name under /run/netns (as `ip netns` names them) or the path of a namespace file (/proc/PID/ns/net, a bind mount). Entering it needs CAP_SYS_ADMIN (root)' -r -f -a "(__fish_tcpstat_value netns)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand record" -l netns-pid -d 'Read the network namespace of process PID (e.g. a container\'s main process). Entering it needs CAP_SYS_ADMIN; `--source proc` reads /proc/PID/net/tcp{,6} without entering' -r -f -a "(__fish_tcpstat_value pid)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand record" -l host-root -d 'Where container runtimes keep their files (the host\'s `/`; e.g. `/host` in a container with the host\'s root mounted there): names of Docker and Podman containers and Kubernetes pods are read under it (var/lib/docker, var/lib/containers, run/containerd, run/containers, var/log/pods)' -r -f -a "(__fish_complete_directories)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand record" -l all-netns -d 'Read every network namespace of the host (those named under /run/netns and those of every process), each on its own: a NETNS column, and `netns_label` keys in JSON. A namespace that cannot be entered is reported and skipped. Needs CAP_SYS_ADMIN (root)'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand record" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand record" -s V -l version -d 'Print version'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand history" -l db -d 'The history database `tcpstat record` writes' -r -F
complete -c tcpstat -n "__fish_tcpstat_using_subcommand history" -l since -d 'Start of the period (see TIMES below)' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand history" -l until -d 'End of the period' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand history" -l at -d 'One recorded moment instead of a period: the last sample at or before TIME, with its ports, workloads and counter rates' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand history" -l state -d 'Only these states: names or groups, comma-separated or repeated' -r -f -a "(__fish_tcpstat_value states)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand history" -l port -d 'Only the sockets of these service ports (as recorded: the top ports of each sample)' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand history" -l workload -d 'Only the sockets of these workloads, by the name `tcpstat workloads` gives them' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand history" -l process -d 'Only the sockets of processes with this command name (exact, as /proc/PID/comm; as recorded: the top processes of each sample; samples recorded without processes are left out)' -r -f -a "(__fish_tcpstat_value processes)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand history" -l html -d 'Write the period as one self-contained HTML page to FILE (`-`: stdout), for an incident ticket: charts as inline SVG, the min/avg/max table, the onset of each --state given, the top ports and workloads; nothing loaded from the network' -r -F
complete -c tcpstat -n "__fish_tcpstat_using_subcommand history" -l speed -d 'With --replay: samples shown per second at the start (`+`/`-` change it)' -r
complete -c tcpstat -n "__fish_tcpstat_using_subcommand history" -l source -d 'Where to read sockets from: `auto` uses netlink and falls back to /proc (saying so on stderr); `netlink` fails instead of falling back; `proc` reads /proc/net/tcp{,6}, which cannot see CLOSED (bound-only) sockets' -r -f -a "auto\t''
netlink\t''
proc\t''"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand history" -l color -d 'When to colour the output: `auto` colours a terminal unless NO_COLOR is set or TERM=dumb; `always` beats the environment' -r -f -a "auto\t''
always\t''
never\t''"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand history" -l netns -d 'Read another network namespace: a name under /run/netns (as `ip netns` names them) or the path of a namespace file (/proc/PID/ns/net, a bind mount). Entering it needs CAP_SYS_ADMIN (root)' -r -f -a "(__fish_tcpstat_value netns)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand history" -l netns-pid -d 'Read the network namespace of process PID (e.g. a container\'s main process). Entering it needs CAP_SYS_ADMIN; `--source proc` reads /proc/PID/net/tcp{,6} without entering' -r -f -a "(__fish_tcpstat_value pid)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand history" -l host-root -d 'Where container runtimes keep their files (the host\'s `/`; e.g. `/host` in a container with the host\'s root mounted there): names of Docker and Podman containers and Kubernetes pods are read under it (var/lib/docker, var/lib/containers, run/containerd, run/containers, var/log/pods)' -r -f -a "(__fish_complete_directories)"
complete -c tcpstat -n "__fish_tcpstat_using_subcommand history" -l onset -d 'When did it start: for each state shown (the stuck states by default), the first sample above its normal band, and who held that state then'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand history" -l json -d 'Print JSON'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand history" -l csv -d 'Print CSV: one line per sample, counts per state, then counter rates'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand history" -l replay -d 'Step through the period on watch\'s screen: the recorded counts, deltas and top ports and workloads of each sample at its recorded time. Keys: space pause/resume, right/l/n next sample, left/h/p previous, +/- faster/slower, g/G first/last, q quit. Not on a terminal (or with --json): watch\'s NDJSON, one object per sample, at once'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand history" -l all-netns -d 'Read every network namespace of the host (those named under /run/netns and those of every process), each on its own: a NETNS column, and `netns_label` keys in JSON. A namespace that cannot be entered is reported and skipped. Needs CAP_SYS_ADMIN (root)'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand history" -s h -l help -d 'Print help'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand history" -s V -l version -d 'Print version'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand help; and not __fish_seen_subcommand_from summary ports procs workloads health list watch doctor check serve record history" -f -a "summary" -d 'Count sockets per TCP state, per address family (the default command)'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand help; and not __fish_seen_subcommand_from summary ports procs workloads health list watch doctor check serve record history" -f -a "ports" -d 'Sockets per port and state: which service has the CLOSE_WAITs'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand help; and not __fish_seen_subcommand_from summary ports procs workloads health list watch doctor check serve record history" -f -a "procs" -d 'Sockets per owning process and state: which process holds them'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand help; and not __fish_seen_subcommand_from summary ports procs workloads health list watch doctor check serve record history" -f -a "workloads" -d 'Sockets per workload and state: which service, container or pod holds them'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand help; and not __fish_seen_subcommand_from summary ports procs workloads health list watch doctor check serve record history" -f -a "health" -d 'Connection health per service port or peer, from the kernel\'s tcp_info'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand help; and not __fish_seen_subcommand_from summary ports procs workloads health list watch doctor check serve record history" -f -a "list" -d 'One row per socket, streamed as it is read'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand help; and not __fish_seen_subcommand_from summary ports procs workloads health list watch doctor check serve record history" -f -a "watch" -d 'A live view: counts, changes, rates, history, top groups and how long sockets have been stuck, every --interval'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand help; and not __fish_seen_subcommand_from summary ports procs workloads health list watch doctor check serve record history" -f -a "doctor" -d 'Explain what is wrong: CLOSE_WAIT leaks per process, full accept queues, SYN floods, TIME_WAIT and ephemeral-port pressure, stuck closes, orphans, TCP memory, unanswered connects'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand help; and not __fish_seen_subcommand_from summary ports procs workloads health list watch doctor check serve record history" -f -a "check" -d 'A monitoring plugin (Nagios, Icinga, Sensu): one status line with performance data, exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand help; and not __fish_seen_subcommand_from summary ports procs workloads health list watch doctor check serve record history" -f -a "serve" -d 'Serve Prometheus metrics over HTTP: /metrics (a fresh collection per scrape), /healthz and a short index page at /'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand help; and not __fish_seen_subcommand_from summary ports procs workloads health list watch doctor check serve record history" -f -a "record" -d 'Record the socket table into a history database every --interval, until stopped'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand help; and not __fish_seen_subcommand_from summary ports procs workloads health list watch doctor check serve record history" -f -a "history" -d 'Look back at what `tcpstat record` stored: sockets per state over a period (min, avg, max and a chart), one recorded moment (--at), when a state left its normal band (--onset), as a table, JSON or CSV'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand help; and not __fish_seen_subcommand_from summary ports procs workloads health list watch doctor check serve record history" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tcpstat -n "__fish_tcpstat_using_subcommand help" -f

# Values clap_complete cannot list, completed by functions of tcpstat's own.
function __fish_tcpstat_value --argument-names kind
    # The value typed so far, without the `--flag=` fish puts back itself.
    set -l token (commandline -ct | string replace -r -- '^--[^=]*=' '')
    set -l head
    if contains -- $kind states pids
        # A comma list: complete its last entry, after the others.
        set head (string match -r -- '^.*,' $token)
    end
    switch $kind
        case states
            for value in listen\t'LISTEN' syn-sent\t'SYN_SENT' syn-recv\t'SYN_RECV' established\t'ESTABLISHED' fin-wait-1\t'FIN_WAIT_1' fin-wait-2\t'FIN_WAIT_2' close-wait\t'CLOSE_WAIT' closing\t'CLOSING' last-ack\t'LAST_ACK' time-wait\t'TIME_WAIT' closed\t'CLOSED' all\t'all eleven states' connected\t'all but LISTEN and CLOSED (ss: every state except listening and closed)' synchronized\t'connected states except SYN_SENT' bucket\t'SYN_RECV and TIME_WAIT (minisockets without an owner process)' big\t'every state but those in bucket'
                printf '%s%s\n' "$head" $value
            end
        case pid
            __fish_complete_pids
        case pids
            for value in (__fish_complete_pids)
                printf '%s%s\n' "$head" $value
            end
        case processes
            # Every process's kernel command name, as --process matches it (fish's
            # __fish_complete_proc drops names with parentheses, taking them for zombies).
            command cat /proc/*/comm 2>/dev/null | sort -u
        case netns
            # A name under /run/netns; a path when the word looks like one or there is none.
            set -l names
            if not string match -qr -- '^[/.~]' $token
                set names /run/netns/*
            end
            if set -q names[1]
                string replace -r -- '^/run/netns/' '' $names
            else
                __fish_complete_path $token
            end
    end
end
