
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'tcpstat' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'tcpstat'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'tcpstat' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format: table, json or prometheus')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'Only these states: names or groups, comma-separated or repeated (e.g. `--state close-wait,time-wait`). The kernel filters, so this is cheap')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'Sockets with this port on either side: a port, a list or a range (`80,443`, `8000-8100`)')
            [CompletionResult]::new('--sport', '--sport', [CompletionResultType]::ParameterName, 'Sockets whose local (source) port matches')
            [CompletionResult]::new('--dport', '--dport', [CompletionResultType]::ParameterName, 'Sockets whose remote (destination) port matches')
            [CompletionResult]::new('--src', '--src', [CompletionResultType]::ParameterName, 'Sockets whose local address is in this network: an address or CIDR, IPv4 or IPv6 (`10.0.0.0/8`, `::1`). IPv4 networks also match IPv4-mapped IPv6 addresses')
            [CompletionResult]::new('--dst', '--dst', [CompletionResultType]::ParameterName, 'Sockets whose remote address is in this network')
            [CompletionResult]::new('--pid', '--pid', [CompletionResultType]::ParameterName, 'Sockets owned by this process (comma list or repeated; 1 or more). Resolves owners')
            [CompletionResult]::new('--process', '--process', [CompletionResultType]::ParameterName, 'Sockets owned by a process with this command name: exact match on the kernel''s command name (/proc/PID/comm, 15 bytes; a longer NAME matches on its first 15 bytes). Resolves owners')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Sockets owned by this user (the socket''s uid): a name or a numeric uid')
            [CompletionResult]::new('--source', '--source', [CompletionResultType]::ParameterName, 'Where to read sockets from: `auto` uses netlink and falls back to /proc (saying so on stderr); `netlink` fails instead of falling back; `proc` reads /proc/net/tcp{,6}, which cannot see CLOSED (bound-only) sockets')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output: `auto` colours a terminal unless NO_COLOR is set or TERM=dumb; `always` beats the environment')
            [CompletionResult]::new('--netns', '--netns', [CompletionResultType]::ParameterName, 'Read another network namespace: a name under /run/netns (as `ip netns` names them) or the path of a namespace file (/proc/PID/ns/net, a bind mount). Entering it needs CAP_SYS_ADMIN (root)')
            [CompletionResult]::new('--netns-pid', '--netns-pid', [CompletionResultType]::ParameterName, 'Read the network namespace of process PID (e.g. a container''s main process). Entering it needs CAP_SYS_ADMIN; `--source proc` reads /proc/PID/net/tcp{,6} without entering')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object instead of a table (schema in the README); --format json')
            [CompletionResult]::new('-4', '-4', [CompletionResultType]::ParameterName, 'Only IPv4 sockets')
            [CompletionResult]::new('--ipv4', '--ipv4', [CompletionResultType]::ParameterName, 'Only IPv4 sockets')
            [CompletionResult]::new('-6', '-6', [CompletionResultType]::ParameterName, 'Only IPv6 sockets (IPv4-mapped addresses on IPv6 sockets count as IPv6, as in ss)')
            [CompletionResult]::new('--ipv6', '--ipv6', [CompletionResultType]::ParameterName, 'Only IPv6 sockets (IPv4-mapped addresses on IPv6 sockets count as IPv6, as in ss)')
            [CompletionResult]::new('--all-netns', '--all-netns', [CompletionResultType]::ParameterName, 'Read every network namespace of the host (those named under /run/netns and those of every process), each on its own: a NETNS column, and `netns_label` keys in JSON. A namespace that cannot be entered is reported and skipped. Needs CAP_SYS_ADMIN (root)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('summary', 'summary', [CompletionResultType]::ParameterValue, 'Count sockets per TCP state, per address family (the default command)')
            [CompletionResult]::new('ports', 'ports', [CompletionResultType]::ParameterValue, 'Sockets per port and state: which service has the CLOSE_WAITs')
            [CompletionResult]::new('procs', 'procs', [CompletionResultType]::ParameterValue, 'Sockets per owning process and state: which process holds them')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'One row per socket, streamed as it is read')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'One row per socket, streamed as it is read')
            [CompletionResult]::new('watch', 'watch', [CompletionResultType]::ParameterValue, 'A live view: counts, changes, rates, history, top groups and how long sockets have been stuck, every --interval')
            [CompletionResult]::new('doctor', 'doctor', [CompletionResultType]::ParameterValue, 'Explain what is wrong: CLOSE_WAIT leaks per process, full accept queues, SYN floods, TIME_WAIT and ephemeral-port pressure, stuck closes, orphans, TCP memory, unanswered connects')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'A monitoring plugin (Nagios, Icinga, Sensu): one status line with performance data, exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Serve Prometheus metrics over HTTP: /metrics (a fresh collection per scrape), /healthz and a short index page at /')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'tcpstat;summary' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format: table, json or prometheus')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'Only these states: names or groups, comma-separated or repeated (e.g. `--state close-wait,time-wait`). The kernel filters, so this is cheap')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'Sockets with this port on either side: a port, a list or a range (`80,443`, `8000-8100`)')
            [CompletionResult]::new('--sport', '--sport', [CompletionResultType]::ParameterName, 'Sockets whose local (source) port matches')
            [CompletionResult]::new('--dport', '--dport', [CompletionResultType]::ParameterName, 'Sockets whose remote (destination) port matches')
            [CompletionResult]::new('--src', '--src', [CompletionResultType]::ParameterName, 'Sockets whose local address is in this network: an address or CIDR, IPv4 or IPv6 (`10.0.0.0/8`, `::1`). IPv4 networks also match IPv4-mapped IPv6 addresses')
            [CompletionResult]::new('--dst', '--dst', [CompletionResultType]::ParameterName, 'Sockets whose remote address is in this network')
            [CompletionResult]::new('--pid', '--pid', [CompletionResultType]::ParameterName, 'Sockets owned by this process (comma list or repeated; 1 or more). Resolves owners')
            [CompletionResult]::new('--process', '--process', [CompletionResultType]::ParameterName, 'Sockets owned by a process with this command name: exact match on the kernel''s command name (/proc/PID/comm, 15 bytes; a longer NAME matches on its first 15 bytes). Resolves owners')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Sockets owned by this user (the socket''s uid): a name or a numeric uid')
            [CompletionResult]::new('--source', '--source', [CompletionResultType]::ParameterName, 'Where to read sockets from: `auto` uses netlink and falls back to /proc (saying so on stderr); `netlink` fails instead of falling back; `proc` reads /proc/net/tcp{,6}, which cannot see CLOSED (bound-only) sockets')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output: `auto` colours a terminal unless NO_COLOR is set or TERM=dumb; `always` beats the environment')
            [CompletionResult]::new('--netns', '--netns', [CompletionResultType]::ParameterName, 'Read another network namespace: a name under /run/netns (as `ip netns` names them) or the path of a namespace file (/proc/PID/ns/net, a bind mount). Entering it needs CAP_SYS_ADMIN (root)')
            [CompletionResult]::new('--netns-pid', '--netns-pid', [CompletionResultType]::ParameterName, 'Read the network namespace of process PID (e.g. a container''s main process). Entering it needs CAP_SYS_ADMIN; `--source proc` reads /proc/PID/net/tcp{,6} without entering')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object instead of a table (schema in the README); --format json')
            [CompletionResult]::new('-4', '-4', [CompletionResultType]::ParameterName, 'Only IPv4 sockets')
            [CompletionResult]::new('--ipv4', '--ipv4', [CompletionResultType]::ParameterName, 'Only IPv4 sockets')
            [CompletionResult]::new('-6', '-6', [CompletionResultType]::ParameterName, 'Only IPv6 sockets (IPv4-mapped addresses on IPv6 sockets count as IPv6, as in ss)')
            [CompletionResult]::new('--ipv6', '--ipv6', [CompletionResultType]::ParameterName, 'Only IPv6 sockets (IPv4-mapped addresses on IPv6 sockets count as IPv6, as in ss)')
            [CompletionResult]::new('--all-netns', '--all-netns', [CompletionResultType]::ParameterName, 'Read every network namespace of the host (those named under /run/netns and those of every process), each on its own: a NETNS column, and `netns_label` keys in JSON. A namespace that cannot be entered is reported and skipped. Needs CAP_SYS_ADMIN (root)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tcpstat;ports' {
            [CompletionResult]::new('--by', '--by', [CompletionResultType]::ParameterName, 'How to group: `service` (default), `local` or `remote` port. --format prometheus takes only `service` (ephemeral ports never become labels)')
            [CompletionResult]::new('--top', '--top', [CompletionResultType]::ParameterName, 'Only the N groups with the most sockets (N >= 1; the footer and JSON `ports_omitted` say how many were left out). With --format prometheus: the N busiest ports that are not listened on (default 10; 0: none), the rest summed as port="other"')
            [CompletionResult]::new('--top-listening', '--top-listening', [CompletionResultType]::ParameterName, 'With --format prometheus: the listening ports kept, those with the fullest accept queues first (then the busiest); the rest are summed as port="other", so that the number of series is bounded whatever the host does')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format: table, json or prometheus')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'Only these states: names or groups, comma-separated or repeated (e.g. `--state close-wait,time-wait`). The kernel filters, so this is cheap')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'Sockets with this port on either side: a port, a list or a range (`80,443`, `8000-8100`)')
            [CompletionResult]::new('--sport', '--sport', [CompletionResultType]::ParameterName, 'Sockets whose local (source) port matches')
            [CompletionResult]::new('--dport', '--dport', [CompletionResultType]::ParameterName, 'Sockets whose remote (destination) port matches')
            [CompletionResult]::new('--src', '--src', [CompletionResultType]::ParameterName, 'Sockets whose local address is in this network: an address or CIDR, IPv4 or IPv6 (`10.0.0.0/8`, `::1`). IPv4 networks also match IPv4-mapped IPv6 addresses')
            [CompletionResult]::new('--dst', '--dst', [CompletionResultType]::ParameterName, 'Sockets whose remote address is in this network')
            [CompletionResult]::new('--pid', '--pid', [CompletionResultType]::ParameterName, 'Sockets owned by this process (comma list or repeated; 1 or more). Resolves owners')
            [CompletionResult]::new('--process', '--process', [CompletionResultType]::ParameterName, 'Sockets owned by a process with this command name: exact match on the kernel''s command name (/proc/PID/comm, 15 bytes; a longer NAME matches on its first 15 bytes). Resolves owners')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Sockets owned by this user (the socket''s uid): a name or a numeric uid')
            [CompletionResult]::new('--source', '--source', [CompletionResultType]::ParameterName, 'Where to read sockets from: `auto` uses netlink and falls back to /proc (saying so on stderr); `netlink` fails instead of falling back; `proc` reads /proc/net/tcp{,6}, which cannot see CLOSED (bound-only) sockets')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output: `auto` colours a terminal unless NO_COLOR is set or TERM=dumb; `always` beats the environment')
            [CompletionResult]::new('--netns', '--netns', [CompletionResultType]::ParameterName, 'Read another network namespace: a name under /run/netns (as `ip netns` names them) or the path of a namespace file (/proc/PID/ns/net, a bind mount). Entering it needs CAP_SYS_ADMIN (root)')
            [CompletionResult]::new('--netns-pid', '--netns-pid', [CompletionResultType]::ParameterName, 'Read the network namespace of process PID (e.g. a container''s main process). Entering it needs CAP_SYS_ADMIN; `--source proc` reads /proc/PID/net/tcp{,6} without entering')
            [CompletionResult]::new('--all-states', '--all-states', [CompletionResultType]::ParameterName, 'Show a column for every state, not only those with sockets (or, with --state, those selected); states not selected or not visible to the source show `-`')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print a JSON object instead of a table; --format json')
            [CompletionResult]::new('-4', '-4', [CompletionResultType]::ParameterName, 'Only IPv4 sockets')
            [CompletionResult]::new('--ipv4', '--ipv4', [CompletionResultType]::ParameterName, 'Only IPv4 sockets')
            [CompletionResult]::new('-6', '-6', [CompletionResultType]::ParameterName, 'Only IPv6 sockets (IPv4-mapped addresses on IPv6 sockets count as IPv6, as in ss)')
            [CompletionResult]::new('--ipv6', '--ipv6', [CompletionResultType]::ParameterName, 'Only IPv6 sockets (IPv4-mapped addresses on IPv6 sockets count as IPv6, as in ss)')
            [CompletionResult]::new('--all-netns', '--all-netns', [CompletionResultType]::ParameterName, 'Read every network namespace of the host (those named under /run/netns and those of every process), each on its own: a NETNS column, and `netns_label` keys in JSON. A namespace that cannot be entered is reported and skipped. Needs CAP_SYS_ADMIN (root)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tcpstat;procs' {
            [CompletionResult]::new('--top', '--top', [CompletionResultType]::ParameterName, 'Only the N processes with the most sockets (N >= 1; the footer and JSON `processes_omitted` say how many were left out; the rows of sockets without a process are always shown). With --format prometheus: the N busiest command names (default 20; 0: none), the rest summed')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format: table, json or prometheus')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'Only these states: names or groups, comma-separated or repeated (e.g. `--state close-wait,time-wait`). The kernel filters, so this is cheap')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'Sockets with this port on either side: a port, a list or a range (`80,443`, `8000-8100`)')
            [CompletionResult]::new('--sport', '--sport', [CompletionResultType]::ParameterName, 'Sockets whose local (source) port matches')
            [CompletionResult]::new('--dport', '--dport', [CompletionResultType]::ParameterName, 'Sockets whose remote (destination) port matches')
            [CompletionResult]::new('--src', '--src', [CompletionResultType]::ParameterName, 'Sockets whose local address is in this network: an address or CIDR, IPv4 or IPv6 (`10.0.0.0/8`, `::1`). IPv4 networks also match IPv4-mapped IPv6 addresses')
            [CompletionResult]::new('--dst', '--dst', [CompletionResultType]::ParameterName, 'Sockets whose remote address is in this network')
            [CompletionResult]::new('--pid', '--pid', [CompletionResultType]::ParameterName, 'Sockets owned by this process (comma list or repeated; 1 or more). Resolves owners')
            [CompletionResult]::new('--process', '--process', [CompletionResultType]::ParameterName, 'Sockets owned by a process with this command name: exact match on the kernel''s command name (/proc/PID/comm, 15 bytes; a longer NAME matches on its first 15 bytes). Resolves owners')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Sockets owned by this user (the socket''s uid): a name or a numeric uid')
            [CompletionResult]::new('--source', '--source', [CompletionResultType]::ParameterName, 'Where to read sockets from: `auto` uses netlink and falls back to /proc (saying so on stderr); `netlink` fails instead of falling back; `proc` reads /proc/net/tcp{,6}, which cannot see CLOSED (bound-only) sockets')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output: `auto` colours a terminal unless NO_COLOR is set or TERM=dumb; `always` beats the environment')
            [CompletionResult]::new('--netns', '--netns', [CompletionResultType]::ParameterName, 'Read another network namespace: a name under /run/netns (as `ip netns` names them) or the path of a namespace file (/proc/PID/ns/net, a bind mount). Entering it needs CAP_SYS_ADMIN (root)')
            [CompletionResult]::new('--netns-pid', '--netns-pid', [CompletionResultType]::ParameterName, 'Read the network namespace of process PID (e.g. a container''s main process). Entering it needs CAP_SYS_ADMIN; `--source proc` reads /proc/PID/net/tcp{,6} without entering')
            [CompletionResult]::new('--all-states', '--all-states', [CompletionResultType]::ParameterName, 'Show a column for every state, not only those with sockets (or, with --state, those selected); states not selected or not visible to the source show `-`')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print a JSON object instead of a table; --format json')
            [CompletionResult]::new('-4', '-4', [CompletionResultType]::ParameterName, 'Only IPv4 sockets')
            [CompletionResult]::new('--ipv4', '--ipv4', [CompletionResultType]::ParameterName, 'Only IPv4 sockets')
            [CompletionResult]::new('-6', '-6', [CompletionResultType]::ParameterName, 'Only IPv6 sockets (IPv4-mapped addresses on IPv6 sockets count as IPv6, as in ss)')
            [CompletionResult]::new('--ipv6', '--ipv6', [CompletionResultType]::ParameterName, 'Only IPv6 sockets (IPv4-mapped addresses on IPv6 sockets count as IPv6, as in ss)')
            [CompletionResult]::new('--all-netns', '--all-netns', [CompletionResultType]::ParameterName, 'Read every network namespace of the host (those named under /run/netns and those of every process), each on its own: a NETNS column, and `netns_label` keys in JSON. A namespace that cannot be entered is reported and skipped. Needs CAP_SYS_ADMIN (root)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tcpstat;list' {
            [CompletionResult]::new('--sort', '--sort', [CompletionResultType]::ParameterName, 'Sort rows (this reads the whole table before printing)')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'Only these states: names or groups, comma-separated or repeated (e.g. `--state close-wait,time-wait`). The kernel filters, so this is cheap')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'Sockets with this port on either side: a port, a list or a range (`80,443`, `8000-8100`)')
            [CompletionResult]::new('--sport', '--sport', [CompletionResultType]::ParameterName, 'Sockets whose local (source) port matches')
            [CompletionResult]::new('--dport', '--dport', [CompletionResultType]::ParameterName, 'Sockets whose remote (destination) port matches')
            [CompletionResult]::new('--src', '--src', [CompletionResultType]::ParameterName, 'Sockets whose local address is in this network: an address or CIDR, IPv4 or IPv6 (`10.0.0.0/8`, `::1`). IPv4 networks also match IPv4-mapped IPv6 addresses')
            [CompletionResult]::new('--dst', '--dst', [CompletionResultType]::ParameterName, 'Sockets whose remote address is in this network')
            [CompletionResult]::new('--pid', '--pid', [CompletionResultType]::ParameterName, 'Sockets owned by this process (comma list or repeated; 1 or more). Resolves owners')
            [CompletionResult]::new('--process', '--process', [CompletionResultType]::ParameterName, 'Sockets owned by a process with this command name: exact match on the kernel''s command name (/proc/PID/comm, 15 bytes; a longer NAME matches on its first 15 bytes). Resolves owners')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Sockets owned by this user (the socket''s uid): a name or a numeric uid')
            [CompletionResult]::new('--source', '--source', [CompletionResultType]::ParameterName, 'Where to read sockets from: `auto` uses netlink and falls back to /proc (saying so on stderr); `netlink` fails instead of falling back; `proc` reads /proc/net/tcp{,6}, which cannot see CLOSED (bound-only) sockets')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output: `auto` colours a terminal unless NO_COLOR is set or TERM=dumb; `always` beats the environment')
            [CompletionResult]::new('--netns', '--netns', [CompletionResultType]::ParameterName, 'Read another network namespace: a name under /run/netns (as `ip netns` names them) or the path of a namespace file (/proc/PID/ns/net, a bind mount). Entering it needs CAP_SYS_ADMIN (root)')
            [CompletionResult]::new('--netns-pid', '--netns-pid', [CompletionResultType]::ParameterName, 'Read the network namespace of process PID (e.g. a container''s main process). Entering it needs CAP_SYS_ADMIN; `--source proc` reads /proc/PID/net/tcp{,6} without entering')
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'Show the owning processes (pid/command); walks /proc/*/fd once')
            [CompletionResult]::new('--processes', '--processes', [CompletionResultType]::ParameterName, 'Show the owning processes (pid/command); walks /proc/*/fd once')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Show the active timer (TIME_WAIT remaining, retransmit, keepalive, probe)')
            [CompletionResult]::new('--timers', '--timers', [CompletionResultType]::ParameterName, 'Show the active timer (TIME_WAIT remaining, retransmit, keepalive, probe)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object, its `sockets` array streamed row by row')
            [CompletionResult]::new('--ndjson', '--ndjson', [CompletionResultType]::ParameterName, 'Print one JSON object per socket per line (streamed), then an `end` line')
            [CompletionResult]::new('--no-header', '--no-header', [CompletionResultType]::ParameterName, 'Do not print the header line')
            [CompletionResult]::new('-4', '-4', [CompletionResultType]::ParameterName, 'Only IPv4 sockets')
            [CompletionResult]::new('--ipv4', '--ipv4', [CompletionResultType]::ParameterName, 'Only IPv4 sockets')
            [CompletionResult]::new('-6', '-6', [CompletionResultType]::ParameterName, 'Only IPv6 sockets (IPv4-mapped addresses on IPv6 sockets count as IPv6, as in ss)')
            [CompletionResult]::new('--ipv6', '--ipv6', [CompletionResultType]::ParameterName, 'Only IPv6 sockets (IPv4-mapped addresses on IPv6 sockets count as IPv6, as in ss)')
            [CompletionResult]::new('--all-netns', '--all-netns', [CompletionResultType]::ParameterName, 'Read every network namespace of the host (those named under /run/netns and those of every process), each on its own: a NETNS column, and `netns_label` keys in JSON. A namespace that cannot be entered is reported and skipped. Needs CAP_SYS_ADMIN (root)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tcpstat;ls' {
            [CompletionResult]::new('--sort', '--sort', [CompletionResultType]::ParameterName, 'Sort rows (this reads the whole table before printing)')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'Only these states: names or groups, comma-separated or repeated (e.g. `--state close-wait,time-wait`). The kernel filters, so this is cheap')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'Sockets with this port on either side: a port, a list or a range (`80,443`, `8000-8100`)')
            [CompletionResult]::new('--sport', '--sport', [CompletionResultType]::ParameterName, 'Sockets whose local (source) port matches')
            [CompletionResult]::new('--dport', '--dport', [CompletionResultType]::ParameterName, 'Sockets whose remote (destination) port matches')
            [CompletionResult]::new('--src', '--src', [CompletionResultType]::ParameterName, 'Sockets whose local address is in this network: an address or CIDR, IPv4 or IPv6 (`10.0.0.0/8`, `::1`). IPv4 networks also match IPv4-mapped IPv6 addresses')
            [CompletionResult]::new('--dst', '--dst', [CompletionResultType]::ParameterName, 'Sockets whose remote address is in this network')
            [CompletionResult]::new('--pid', '--pid', [CompletionResultType]::ParameterName, 'Sockets owned by this process (comma list or repeated; 1 or more). Resolves owners')
            [CompletionResult]::new('--process', '--process', [CompletionResultType]::ParameterName, 'Sockets owned by a process with this command name: exact match on the kernel''s command name (/proc/PID/comm, 15 bytes; a longer NAME matches on its first 15 bytes). Resolves owners')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Sockets owned by this user (the socket''s uid): a name or a numeric uid')
            [CompletionResult]::new('--source', '--source', [CompletionResultType]::ParameterName, 'Where to read sockets from: `auto` uses netlink and falls back to /proc (saying so on stderr); `netlink` fails instead of falling back; `proc` reads /proc/net/tcp{,6}, which cannot see CLOSED (bound-only) sockets')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output: `auto` colours a terminal unless NO_COLOR is set or TERM=dumb; `always` beats the environment')
            [CompletionResult]::new('--netns', '--netns', [CompletionResultType]::ParameterName, 'Read another network namespace: a name under /run/netns (as `ip netns` names them) or the path of a namespace file (/proc/PID/ns/net, a bind mount). Entering it needs CAP_SYS_ADMIN (root)')
            [CompletionResult]::new('--netns-pid', '--netns-pid', [CompletionResultType]::ParameterName, 'Read the network namespace of process PID (e.g. a container''s main process). Entering it needs CAP_SYS_ADMIN; `--source proc` reads /proc/PID/net/tcp{,6} without entering')
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'Show the owning processes (pid/command); walks /proc/*/fd once')
            [CompletionResult]::new('--processes', '--processes', [CompletionResultType]::ParameterName, 'Show the owning processes (pid/command); walks /proc/*/fd once')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Show the active timer (TIME_WAIT remaining, retransmit, keepalive, probe)')
            [CompletionResult]::new('--timers', '--timers', [CompletionResultType]::ParameterName, 'Show the active timer (TIME_WAIT remaining, retransmit, keepalive, probe)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object, its `sockets` array streamed row by row')
            [CompletionResult]::new('--ndjson', '--ndjson', [CompletionResultType]::ParameterName, 'Print one JSON object per socket per line (streamed), then an `end` line')
            [CompletionResult]::new('--no-header', '--no-header', [CompletionResultType]::ParameterName, 'Do not print the header line')
            [CompletionResult]::new('-4', '-4', [CompletionResultType]::ParameterName, 'Only IPv4 sockets')
            [CompletionResult]::new('--ipv4', '--ipv4', [CompletionResultType]::ParameterName, 'Only IPv4 sockets')
            [CompletionResult]::new('-6', '-6', [CompletionResultType]::ParameterName, 'Only IPv6 sockets (IPv4-mapped addresses on IPv6 sockets count as IPv6, as in ss)')
            [CompletionResult]::new('--ipv6', '--ipv6', [CompletionResultType]::ParameterName, 'Only IPv6 sockets (IPv4-mapped addresses on IPv6 sockets count as IPv6, as in ss)')
            [CompletionResult]::new('--all-netns', '--all-netns', [CompletionResultType]::ParameterName, 'Read every network namespace of the host (those named under /run/netns and those of every process), each on its own: a NETNS column, and `netns_label` keys in JSON. A namespace that cannot be entered is reported and skipped. Needs CAP_SYS_ADMIN (root)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tcpstat;watch' {
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Time between collections: 500ms, 2s, 1m, ...')
            [CompletionResult]::new('--interval', '--interval', [CompletionResultType]::ParameterName, 'Time between collections: 500ms, 2s, 1m, ...')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Stop after N ticks')
            [CompletionResult]::new('--count', '--count', [CompletionResultType]::ParameterName, 'Stop after N ticks')
            [CompletionResult]::new('--by', '--by', [CompletionResultType]::ParameterName, 'Group the top list by service port, owning process or remote address')
            [CompletionResult]::new('--top', '--top', [CompletionResultType]::ParameterName, 'Length of the top and age lists (at least 1)')
            [CompletionResult]::new('--older-than', '--older-than', [CompletionResultType]::ParameterName, 'Only report sockets that have been in their state at least this long (e.g. 5m)')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'Only these states: names or groups, comma-separated or repeated (e.g. `--state close-wait,time-wait`). The kernel filters, so this is cheap')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'Sockets with this port on either side: a port, a list or a range (`80,443`, `8000-8100`)')
            [CompletionResult]::new('--sport', '--sport', [CompletionResultType]::ParameterName, 'Sockets whose local (source) port matches')
            [CompletionResult]::new('--dport', '--dport', [CompletionResultType]::ParameterName, 'Sockets whose remote (destination) port matches')
            [CompletionResult]::new('--src', '--src', [CompletionResultType]::ParameterName, 'Sockets whose local address is in this network: an address or CIDR, IPv4 or IPv6 (`10.0.0.0/8`, `::1`). IPv4 networks also match IPv4-mapped IPv6 addresses')
            [CompletionResult]::new('--dst', '--dst', [CompletionResultType]::ParameterName, 'Sockets whose remote address is in this network')
            [CompletionResult]::new('--pid', '--pid', [CompletionResultType]::ParameterName, 'Sockets owned by this process (comma list or repeated; 1 or more). Resolves owners')
            [CompletionResult]::new('--process', '--process', [CompletionResultType]::ParameterName, 'Sockets owned by a process with this command name: exact match on the kernel''s command name (/proc/PID/comm, 15 bytes; a longer NAME matches on its first 15 bytes). Resolves owners')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Sockets owned by this user (the socket''s uid): a name or a numeric uid')
            [CompletionResult]::new('--source', '--source', [CompletionResultType]::ParameterName, 'Where to read sockets from: `auto` uses netlink and falls back to /proc (saying so on stderr); `netlink` fails instead of falling back; `proc` reads /proc/net/tcp{,6}, which cannot see CLOSED (bound-only) sockets')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output: `auto` colours a terminal unless NO_COLOR is set or TERM=dumb; `always` beats the environment')
            [CompletionResult]::new('--netns', '--netns', [CompletionResultType]::ParameterName, 'Read another network namespace: a name under /run/netns (as `ip netns` names them) or the path of a namespace file (/proc/PID/ns/net, a bind mount). Entering it needs CAP_SYS_ADMIN (root)')
            [CompletionResult]::new('--netns-pid', '--netns-pid', [CompletionResultType]::ParameterName, 'Read the network namespace of process PID (e.g. a container''s main process). Entering it needs CAP_SYS_ADMIN; `--source proc` reads /proc/PID/net/tcp{,6} without entering')
            [CompletionResult]::new('--events', '--events', [CompletionResultType]::ParameterName, 'Also report the sockets that entered or left the watched states since the last tick')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print NDJSON (one object per tick) even on a terminal')
            [CompletionResult]::new('-4', '-4', [CompletionResultType]::ParameterName, 'Only IPv4 sockets')
            [CompletionResult]::new('--ipv4', '--ipv4', [CompletionResultType]::ParameterName, 'Only IPv4 sockets')
            [CompletionResult]::new('-6', '-6', [CompletionResultType]::ParameterName, 'Only IPv6 sockets (IPv4-mapped addresses on IPv6 sockets count as IPv6, as in ss)')
            [CompletionResult]::new('--ipv6', '--ipv6', [CompletionResultType]::ParameterName, 'Only IPv6 sockets (IPv4-mapped addresses on IPv6 sockets count as IPv6, as in ss)')
            [CompletionResult]::new('--all-netns', '--all-netns', [CompletionResultType]::ParameterName, 'Read every network namespace of the host (those named under /run/netns and those of every process), each on its own: a NETNS column, and `netns_label` keys in JSON. A namespace that cannot be entered is reported and skipped. Needs CAP_SYS_ADMIN (root)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tcpstat;doctor' {
            [CompletionResult]::new('--threshold', '--threshold', [CompletionResultType]::ParameterName, 'Override a threshold: KEY=WARN[,CRIT], e.g. CLOSE_WAIT=100 or TIME_WAIT=80%,95% (keys and defaults below). Repeatable')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'Only these states: names or groups, comma-separated or repeated (e.g. `--state close-wait,time-wait`). The kernel filters, so this is cheap')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'Sockets with this port on either side: a port, a list or a range (`80,443`, `8000-8100`)')
            [CompletionResult]::new('--sport', '--sport', [CompletionResultType]::ParameterName, 'Sockets whose local (source) port matches')
            [CompletionResult]::new('--dport', '--dport', [CompletionResultType]::ParameterName, 'Sockets whose remote (destination) port matches')
            [CompletionResult]::new('--src', '--src', [CompletionResultType]::ParameterName, 'Sockets whose local address is in this network: an address or CIDR, IPv4 or IPv6 (`10.0.0.0/8`, `::1`). IPv4 networks also match IPv4-mapped IPv6 addresses')
            [CompletionResult]::new('--dst', '--dst', [CompletionResultType]::ParameterName, 'Sockets whose remote address is in this network')
            [CompletionResult]::new('--pid', '--pid', [CompletionResultType]::ParameterName, 'Sockets owned by this process (comma list or repeated; 1 or more). Resolves owners')
            [CompletionResult]::new('--process', '--process', [CompletionResultType]::ParameterName, 'Sockets owned by a process with this command name: exact match on the kernel''s command name (/proc/PID/comm, 15 bytes; a longer NAME matches on its first 15 bytes). Resolves owners')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Sockets owned by this user (the socket''s uid): a name or a numeric uid')
            [CompletionResult]::new('--source', '--source', [CompletionResultType]::ParameterName, 'Where to read sockets from: `auto` uses netlink and falls back to /proc (saying so on stderr); `netlink` fails instead of falling back; `proc` reads /proc/net/tcp{,6}, which cannot see CLOSED (bound-only) sockets')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output: `auto` colours a terminal unless NO_COLOR is set or TERM=dumb; `always` beats the environment')
            [CompletionResult]::new('--netns', '--netns', [CompletionResultType]::ParameterName, 'Read another network namespace: a name under /run/netns (as `ip netns` names them) or the path of a namespace file (/proc/PID/ns/net, a bind mount). Entering it needs CAP_SYS_ADMIN (root)')
            [CompletionResult]::new('--netns-pid', '--netns-pid', [CompletionResultType]::ParameterName, 'Read the network namespace of process PID (e.g. a container''s main process). Entering it needs CAP_SYS_ADMIN; `--source proc` reads /proc/PID/net/tcp{,6} without entering')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object instead of text')
            [CompletionResult]::new('-4', '-4', [CompletionResultType]::ParameterName, 'Only IPv4 sockets')
            [CompletionResult]::new('--ipv4', '--ipv4', [CompletionResultType]::ParameterName, 'Only IPv4 sockets')
            [CompletionResult]::new('-6', '-6', [CompletionResultType]::ParameterName, 'Only IPv6 sockets (IPv4-mapped addresses on IPv6 sockets count as IPv6, as in ss)')
            [CompletionResult]::new('--ipv6', '--ipv6', [CompletionResultType]::ParameterName, 'Only IPv6 sockets (IPv4-mapped addresses on IPv6 sockets count as IPv6, as in ss)')
            [CompletionResult]::new('--all-netns', '--all-netns', [CompletionResultType]::ParameterName, 'Read every network namespace of the host (those named under /run/netns and those of every process), each on its own: a NETNS column, and `netns_label` keys in JSON. A namespace that cannot be entered is reported and skipped. Needs CAP_SYS_ADMIN (root)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tcpstat;check' {
            [CompletionResult]::new('-w', '-w', [CompletionResultType]::ParameterName, 'WARNING when KEY''s count is outside RANGE: [KEY[:PORT]=]RANGE, e.g. CLOSE_WAIT=100, or 100 for every selected socket. Repeatable')
            [CompletionResult]::new('--warn', '--warn', [CompletionResultType]::ParameterName, 'WARNING when KEY''s count is outside RANGE: [KEY[:PORT]=]RANGE, e.g. CLOSE_WAIT=100, or 100 for every selected socket. Repeatable')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'CRITICAL when KEY''s count is outside RANGE: [KEY[:PORT]=]RANGE, e.g. CLOSE_WAIT=500, or 500 for every selected socket. Repeatable')
            [CompletionResult]::new('--crit', '--crit', [CompletionResultType]::ParameterName, 'CRITICAL when KEY''s count is outside RANGE: [KEY[:PORT]=]RANGE, e.g. CLOSE_WAIT=500, or 500 for every selected socket. Repeatable')
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'Give up after this long with an UNKNOWN line (before the monitoring system kills the plugin and reports CRITICAL): 10s, 500ms, or seconds')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Give up after this long with an UNKNOWN line (before the monitoring system kills the plugin and reports CRITICAL): 10s, 500ms, or seconds')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'Only these states: names or groups, comma-separated or repeated (e.g. `--state close-wait,time-wait`). The kernel filters, so this is cheap')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'Sockets with this port on either side: a port, a list or a range (`80,443`, `8000-8100`)')
            [CompletionResult]::new('--sport', '--sport', [CompletionResultType]::ParameterName, 'Sockets whose local (source) port matches')
            [CompletionResult]::new('--dport', '--dport', [CompletionResultType]::ParameterName, 'Sockets whose remote (destination) port matches')
            [CompletionResult]::new('--src', '--src', [CompletionResultType]::ParameterName, 'Sockets whose local address is in this network: an address or CIDR, IPv4 or IPv6 (`10.0.0.0/8`, `::1`). IPv4 networks also match IPv4-mapped IPv6 addresses')
            [CompletionResult]::new('--dst', '--dst', [CompletionResultType]::ParameterName, 'Sockets whose remote address is in this network')
            [CompletionResult]::new('--pid', '--pid', [CompletionResultType]::ParameterName, 'Sockets owned by this process (comma list or repeated; 1 or more). Resolves owners')
            [CompletionResult]::new('--process', '--process', [CompletionResultType]::ParameterName, 'Sockets owned by a process with this command name: exact match on the kernel''s command name (/proc/PID/comm, 15 bytes; a longer NAME matches on its first 15 bytes). Resolves owners')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Sockets owned by this user (the socket''s uid): a name or a numeric uid')
            [CompletionResult]::new('--source', '--source', [CompletionResultType]::ParameterName, 'Where to read sockets from: `auto` uses netlink and falls back to /proc (saying so on stderr); `netlink` fails instead of falling back; `proc` reads /proc/net/tcp{,6}, which cannot see CLOSED (bound-only) sockets')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output: `auto` colours a terminal unless NO_COLOR is set or TERM=dumb; `always` beats the environment')
            [CompletionResult]::new('--netns', '--netns', [CompletionResultType]::ParameterName, 'Read another network namespace: a name under /run/netns (as `ip netns` names them) or the path of a namespace file (/proc/PID/ns/net, a bind mount). Entering it needs CAP_SYS_ADMIN (root)')
            [CompletionResult]::new('--netns-pid', '--netns-pid', [CompletionResultType]::ParameterName, 'Read the network namespace of process PID (e.g. a container''s main process). Entering it needs CAP_SYS_ADMIN; `--source proc` reads /proc/PID/net/tcp{,6} without entering')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More in the status: -v adds where the numbers came from and every warning; -vv adds one line per measured value after the status line (long output)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More in the status: -v adds where the numbers came from and every warning; -vv adds one line per measured value after the status line (long output)')
            [CompletionResult]::new('-4', '-4', [CompletionResultType]::ParameterName, 'Only IPv4 sockets')
            [CompletionResult]::new('--ipv4', '--ipv4', [CompletionResultType]::ParameterName, 'Only IPv4 sockets')
            [CompletionResult]::new('-6', '-6', [CompletionResultType]::ParameterName, 'Only IPv6 sockets (IPv4-mapped addresses on IPv6 sockets count as IPv6, as in ss)')
            [CompletionResult]::new('--ipv6', '--ipv6', [CompletionResultType]::ParameterName, 'Only IPv6 sockets (IPv4-mapped addresses on IPv6 sockets count as IPv6, as in ss)')
            [CompletionResult]::new('--all-netns', '--all-netns', [CompletionResultType]::ParameterName, 'Read every network namespace of the host (those named under /run/netns and those of every process), each on its own: a NETNS column, and `netns_label` keys in JSON. A namespace that cannot be entered is reported and skipped. Needs CAP_SYS_ADMIN (root)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tcpstat;serve' {
            [CompletionResult]::new('--listen', '--listen', [CompletionResultType]::ParameterName, 'Address and port to listen on. Loopback by default; any other address (0.0.0.0, a public interface) exposes socket counts to whoever can reach it')
            [CompletionResult]::new('--top-ports', '--top-ports', [CompletionResultType]::ParameterName, 'Ports in tcpstat_port_sockets that are not listened on: the N busiest; the rest are summed as port="other"')
            [CompletionResult]::new('--top-listening', '--top-listening', [CompletionResultType]::ParameterName, 'Listening ports in tcpstat_port_sockets and the queue metrics: the N with the fullest accept queues (then the busiest); the rest are summed as port="other"')
            [CompletionResult]::new('--top-processes', '--top-processes', [CompletionResultType]::ParameterName, 'Commands in tcpstat_process_sockets (with --processes): the N busiest')
            [CompletionResult]::new('--max-connections', '--max-connections', [CompletionResultType]::ParameterName, 'Connections served at once. When all are taken, a new one takes the slot of the oldest connection still sending its request (answered 503), else of the one that has been taking its response for more than a second (reset: a client that does not read); when every one is busy with something recent, the new one is answered 503 at once')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'Only these states: names or groups, comma-separated or repeated (e.g. `--state close-wait,time-wait`). The kernel filters, so this is cheap')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'Sockets with this port on either side: a port, a list or a range (`80,443`, `8000-8100`)')
            [CompletionResult]::new('--sport', '--sport', [CompletionResultType]::ParameterName, 'Sockets whose local (source) port matches')
            [CompletionResult]::new('--dport', '--dport', [CompletionResultType]::ParameterName, 'Sockets whose remote (destination) port matches')
            [CompletionResult]::new('--src', '--src', [CompletionResultType]::ParameterName, 'Sockets whose local address is in this network: an address or CIDR, IPv4 or IPv6 (`10.0.0.0/8`, `::1`). IPv4 networks also match IPv4-mapped IPv6 addresses')
            [CompletionResult]::new('--dst', '--dst', [CompletionResultType]::ParameterName, 'Sockets whose remote address is in this network')
            [CompletionResult]::new('--pid', '--pid', [CompletionResultType]::ParameterName, 'Sockets owned by this process (comma list or repeated; 1 or more). Resolves owners')
            [CompletionResult]::new('--process', '--process', [CompletionResultType]::ParameterName, 'Sockets owned by a process with this command name: exact match on the kernel''s command name (/proc/PID/comm, 15 bytes; a longer NAME matches on its first 15 bytes). Resolves owners')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Sockets owned by this user (the socket''s uid): a name or a numeric uid')
            [CompletionResult]::new('--source', '--source', [CompletionResultType]::ParameterName, 'Where to read sockets from: `auto` uses netlink and falls back to /proc (saying so on stderr); `netlink` fails instead of falling back; `proc` reads /proc/net/tcp{,6}, which cannot see CLOSED (bound-only) sockets')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output: `auto` colours a terminal unless NO_COLOR is set or TERM=dumb; `always` beats the environment')
            [CompletionResult]::new('--netns', '--netns', [CompletionResultType]::ParameterName, 'Read another network namespace: a name under /run/netns (as `ip netns` names them) or the path of a namespace file (/proc/PID/ns/net, a bind mount). Entering it needs CAP_SYS_ADMIN (root)')
            [CompletionResult]::new('--netns-pid', '--netns-pid', [CompletionResultType]::ParameterName, 'Read the network namespace of process PID (e.g. a container''s main process). Entering it needs CAP_SYS_ADMIN; `--source proc` reads /proc/PID/net/tcp{,6} without entering')
            [CompletionResult]::new('--processes', '--processes', [CompletionResultType]::ParameterName, 'Also export tcpstat_process_sockets{command,state} (walks /proc/*/fd on every scrape)')
            [CompletionResult]::new('-4', '-4', [CompletionResultType]::ParameterName, 'Only IPv4 sockets')
            [CompletionResult]::new('--ipv4', '--ipv4', [CompletionResultType]::ParameterName, 'Only IPv4 sockets')
            [CompletionResult]::new('-6', '-6', [CompletionResultType]::ParameterName, 'Only IPv6 sockets (IPv4-mapped addresses on IPv6 sockets count as IPv6, as in ss)')
            [CompletionResult]::new('--ipv6', '--ipv6', [CompletionResultType]::ParameterName, 'Only IPv6 sockets (IPv4-mapped addresses on IPv6 sockets count as IPv6, as in ss)')
            [CompletionResult]::new('--all-netns', '--all-netns', [CompletionResultType]::ParameterName, 'Read every network namespace of the host (those named under /run/netns and those of every process), each on its own: a NETNS column, and `netns_label` keys in JSON. A namespace that cannot be entered is reported and skipped. Needs CAP_SYS_ADMIN (root)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tcpstat;help' {
            [CompletionResult]::new('summary', 'summary', [CompletionResultType]::ParameterValue, 'Count sockets per TCP state, per address family (the default command)')
            [CompletionResult]::new('ports', 'ports', [CompletionResultType]::ParameterValue, 'Sockets per port and state: which service has the CLOSE_WAITs')
            [CompletionResult]::new('procs', 'procs', [CompletionResultType]::ParameterValue, 'Sockets per owning process and state: which process holds them')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'One row per socket, streamed as it is read')
            [CompletionResult]::new('watch', 'watch', [CompletionResultType]::ParameterValue, 'A live view: counts, changes, rates, history, top groups and how long sockets have been stuck, every --interval')
            [CompletionResult]::new('doctor', 'doctor', [CompletionResultType]::ParameterValue, 'Explain what is wrong: CLOSE_WAIT leaks per process, full accept queues, SYN floods, TIME_WAIT and ephemeral-port pressure, stuck closes, orphans, TCP memory, unanswered connects')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'A monitoring plugin (Nagios, Icinga, Sensu): one status line with performance data, exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Serve Prometheus metrics over HTTP: /metrics (a fresh collection per scrape), /healthz and a short index page at /')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'tcpstat;help;summary' {
            break
        }
        'tcpstat;help;ports' {
            break
        }
        'tcpstat;help;procs' {
            break
        }
        'tcpstat;help;list' {
            break
        }
        'tcpstat;help;watch' {
            break
        }
        'tcpstat;help;doctor' {
            break
        }
        'tcpstat;help;check' {
            break
        }
        'tcpstat;help;serve' {
            break
        }
        'tcpstat;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
