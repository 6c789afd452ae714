#!/usr/bin/python3
"""The relay section of `make bench`: `ustack relay --direct` against pasta
and slirp4netns, beside the kernel's own routed path, each way, at MTU 1500
and 65520. bench/bench.py calls main(); it also runs alone:
`python3 bench/relay.py` (root).

The same picture for every path: iperf3's client runs in a namespace of its
own (the "guest"), iperf3's server in the outer namespace ("host"), and the
guest's traffic reaches the host through
  - kernel:      a veth pair, routed by the kernel (no user space between)
  - ustack:      a TUN device in the guest, served by `ustack relay --direct`
                 running in the host (its device moved into the guest), which
                 terminates each connection and carries it on through a host
                 socket (to the host's own address: local delivery)
  - pasta:       passt's pasta (`--config-net`), a tap in the guest; the
                 guest reaches the host through its gateway address, which
                 pasta maps to the host's loopback
  - slirp4netns: a tap in the guest, 10.0.2.2 mapped to the host's loopback
so the relays all end in the host's local delivery, as the kernel path does.
Nothing is pinned: the relay, iperf3's client and server and the kernel's
work for both share the machine's CPUs as a user's would.

Environment (shared with bench.py): BENCH_RUNS (3), BENCH_SECS (3), BENCH_QUICK,
BENCH_OUT (bench/results), USTACK, RR (bench/rr.c's binary: new flows/s); BENCH_RELAY_MTUS ("1500,65520"),
BENCH_RELAY_TARGETS ("kernel,ustack,pasta,slirp4netns"),
BENCH_RELAY_ARGS (more options for ustack relay), BENCH_RELAY_NS (namespace prefix, default "relay-bench"; addresses in 10.216.0.0/16).
Writes relay.{json,md,png} and logs/relay-*.log under BENCH_OUT.
"""
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QUICK = os.environ.get("BENCH_QUICK") == "1"
RUNS = 1 if QUICK else int(os.environ.get("BENCH_RUNS", "3"))
SECS = 1 if QUICK else int(float(os.environ.get("BENCH_SECS", "3")))
OUT = os.path.abspath(os.environ.get("BENCH_OUT", os.path.join(ROOT, "bench", "results")))
USTACK = os.path.abspath(os.environ.get("USTACK", os.path.join(ROOT, "build", "ustack")))
RR = os.path.abspath(os.environ.get("RR", os.path.join(ROOT, "build", "bench", "rr")))
MTUS = [int(m) for m in os.environ.get("BENCH_RELAY_MTUS", "1500,65520").split(",") if m]
ALL = ["kernel", "ustack", "pasta", "slirp4netns"]
TARGETS = [t for t in os.environ.get("BENCH_RELAY_TARGETS", ",".join(ALL)).split(",") if t]
PFX = os.environ.get("BENCH_RELAY_NS", "relay-bench")
HOST = f"{PFX}-host"
HOST_IP, GW_IP = "10.216.9.1", "10.216.9.254"
CLK_TCK = os.sysconf("SC_CLK_TCK")
LABEL = {"kernel": "kernel (veth, routed)", "ustack": "ustack relay --direct", "pasta": "pasta",
         "slirp4netns": "slirp4netns"}


def log(msg):
    print(f"bench-relay: {msg}", flush=True)


def sh(*args, check=True, timeout=30):
    return subprocess.run(list(args), check=check, timeout=timeout, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True)


def nsx(ns, *args):
    return ["ip", "netns", "exec", ns, *args]


def del_ns(ns):
    subprocess.run(["ip", "netns", "del", ns], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)


def our_namespaces():
    r = sh("ip", "netns", "list", check=False)
    return [line.split()[0] for line in r.stdout.splitlines() if line.startswith(PFX + "-")]


def new_ns(ns):
    del_ns(ns)
    sh("ip", "netns", "add", ns)
    sh(*nsx(ns, "ip", "link", "set", "lo", "up"))
    # As bench.py's clients: a wide port range and few TIME_WAIT buckets, so
    # thousands of short connections a second (new flows/s, on both sides
    # of a relay) never run out of ports.
    for k, v in (("net.ipv4.ip_local_port_range", "1024 65535"), ("net.ipv4.tcp_tw_reuse", "1"),
                 ("net.ipv4.tcp_max_tw_buckets", "1024")):
        sh(*nsx(ns, "sysctl", "-qw", f"{k}={v}"))


def proc_cpu(pid):
    """utime+stime (all threads) of pid and its direct children, seconds."""
    total = 0.0
    pids = [pid]
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            pids += [int(p) for p in f.read().split()]
    except OSError:
        pass
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / CLK_TCK
        except (OSError, IndexError, ValueError):
            pass
    return total


def wait_for(cond, secs, what):
    end = time.time() + secs
    while time.time() < end:
        if cond():
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what}: not up after {secs} s")


class Path:
    """One way from a guest namespace to the host: set up, measured, torn down."""

    def __init__(self, name, mtu):
        self.name, self.mtu = name, mtu
        self.ns = f"{PFX}-{name[:6]}"
        self.proc = None
        self.logpath = os.path.join(OUT, "logs", f"relay-{name}-{mtu}.log")
        self.target = HOST_IP
        self.note = ""

    def spawn(self, argv):
        logf = open(self.logpath, "w")
        self.proc = subprocess.Popen(nsx(HOST, *argv), stdout=logf, stderr=subprocess.STDOUT)
        logf.close()

    def log_has(self, word):
        try:
            with open(self.logpath) as f:
                return word in f.read()
        except OSError:
            return False

    def setup(self):
        new_ns(self.ns)
        m = str(self.mtu)
        if self.name == "kernel":
            sh("ip", "link", "add", "vrbk0", "netns", HOST, "type", "veth", "peer", "name", "vrbk1", "netns", self.ns)
            sh(*nsx(HOST, "ip", "addr", "add", "10.216.1.1/24", "dev", "vrbk0"))
            sh(*nsx(self.ns, "ip", "addr", "add", "10.216.1.2/24", "dev", "vrbk1"))
            sh(*nsx(HOST, "ip", "link", "set", "vrbk0", "mtu", m, "up"))
            sh(*nsx(self.ns, "ip", "link", "set", "vrbk1", "mtu", m, "up"))
            sh(*nsx(self.ns, "ip", "route", "add", "default", "via", "10.216.1.1"))
            self.note = "veth offloads on (TSO, GSO, GRO)"
        elif self.name == "ustack":
            self.spawn([USTACK, "relay", "--tun", "rbtun0", "--ip", "10.216.2.1/24", "--direct", "--mtu", m]
                       + os.environ.get("BENCH_RELAY_ARGS", "").split())
            wait_for(lambda: self.log_has("ready") or self.proc.poll() is not None, 10, "ustack relay")
            if self.proc.poll() is not None:
                raise RuntimeError(f"ustack relay exited: see {self.logpath}")
            # The relay lives in the host, as pasta and slirp4netns do; its
            # TUN device goes into the guest (the fd stays attached).
            sh(*nsx(HOST, "ip", "link", "set", "rbtun0", "netns", self.ns))
            sh(*nsx(self.ns, "ip", "addr", "add", "10.216.2.2/24", "dev", "rbtun0"))
            sh(*nsx(self.ns, "ip", "link", "set", "rbtun0", "mtu", m, "up"))
            sh(*nsx(self.ns, "ip", "route", "add", "default", "dev", "rbtun0"))
        elif self.name == "pasta":
            self.spawn(["pasta", "--runas", "0", "--config-net", "-f", "-q", "-m", m, "-t", "none", "-u", "none",
                        "-T", "none", "-U", "none", "--netns", f"/run/netns/{self.ns}"])
            wait_for(lambda: "default" in sh(*nsx(self.ns, "ip", "route"), check=False).stdout, 10, "pasta")
            self.target = GW_IP   # pasta maps the gateway to the host's loopback
        elif self.name == "slirp4netns":
            self.spawn(["slirp4netns", "--configure", f"--mtu={m}", "--netns-type=path", f"/run/netns/{self.ns}",
                        "tap0"])
            wait_for(lambda: "default" in sh(*nsx(self.ns, "ip", "route"), check=False).stdout, 10, "slirp4netns")
            self.target = "10.0.2.2"   # slirp4netns's host loopback
        else:
            raise RuntimeError(f"unknown target {self.name}")

    def version(self):
        if self.name == "pasta":
            r = sh("dpkg-query", "-W", "-f=${Version}", "passt", check=False)
            return f"passt {r.stdout.strip() or '?'}"
        if self.name == "slirp4netns":
            r = sh("slirp4netns", "--version", check=False)
            return " ".join(r.stdout.split()[:3])
        return ""

    def run(self, reverse):
        cpu0 = proc_cpu(self.proc.pid) if self.proc else None
        argv = nsx(self.ns, "iperf3", "-c", self.target, "-t", str(SECS), "-O", "1", "-J")
        if reverse:
            argv.append("-R")
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=SECS + 30)
        cpu1 = proc_cpu(self.proc.pid) if self.proc else None
        try:
            d = json.loads(r.stdout)
            e = d["end"]["sum_received"]
        except (ValueError, KeyError):
            return {"error": (r.stdout + r.stderr).strip()[-300:]}
        gb = e["bytes"] / 1e9
        res = {"gbps": e["bits_per_second"] / 1e9, "bytes": e["bytes"]}
        # iperf3 -O 1 leaves the first second out of the bytes, not out of
        # the CPU time: CPU per GB counts that second's bytes in too.
        secs_all = SECS + 1
        if cpu0 is not None and gb > 0:
            res["cpu_s_per_gb"] = (cpu1 - cpu0) / (gb * secs_all / SECS)
        return res

    def run_flows(self):
        """New flows/s: rr crr, a new connection per 1-byte exchange."""
        r = subprocess.run(nsx(self.ns, RR, "crr", self.target, "7", str(SECS)), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=SECS + 30)
        try:
            d = json.loads(r.stdout.strip().splitlines()[-1])
        except (IndexError, ValueError):
            return {"error": (r.stdout + r.stderr).strip()[-300:] or f"exit {r.returncode}"}
        return {"error": d["error"]} if "error" in d else {"tps": d["tps"], "p50_us": d.get("p50_us"),
                                                            "p99_us": d.get("p99_us")}

    def teardown(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        del_ns(self.ns)


def setup_host():
    new_ns(HOST)
    sh(*nsx(HOST, "ip", "link", "add", "rbo0", "type", "veth", "peer", "name", "rbo1"))
    sh(*nsx(HOST, "ip", "addr", "add", f"{HOST_IP}/24", "dev", "rbo0"))
    sh(*nsx(HOST, "ip", "link", "set", "rbo0", "up"))
    sh(*nsx(HOST, "ip", "link", "set", "rbo1", "up"))
    # A default route for pasta to copy into its guest; nothing is sent on it.
    sh(*nsx(HOST, "ip", "route", "add", "default", "via", GW_IP, "dev", "rbo0"))
    sh(*nsx(HOST, "sysctl", "-qw", "net.ipv4.ip_forward=1"))
    logf = open(os.path.join(OUT, "logs", "relay-iperf3-server.log"), "w")
    srv = subprocess.Popen(nsx(HOST, "iperf3", "-s"), stdout=logf, stderr=subprocess.STDOUT)
    logf.close()
    wait_for(lambda: sh(*nsx(HOST, "bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/5201"), check=False).returncode == 0,
             10, "iperf3 server")
    srvs = [srv]
    if os.access(RR, os.X_OK):
        logf = open(os.path.join(OUT, "logs", "relay-rr-server.log"), "w")
        srvs.append(subprocess.Popen(nsx(HOST, RR, "server", "7", "9", "19"), stdout=logf, stderr=subprocess.STDOUT))
        logf.close()
    return srvs


def fmt(v, spec=".2f"):
    return "n/a" if v is None else format(v, spec)


def med(rs, key):
    vals = [r[key] for r in rs if key in r]
    return statistics.median(vals) if vals else None


DIRS = ("up", "down", "flows")


def columns(res, dirs=("up", "down")):
    return [(m, d) for m in res["mtus"] for d in dirs]


def cell(res, t, m, d, key="gbps"):
    return res["results"].get(t, {}).get(str(m), {}).get(d, {}).get(key)


def table(res):
    cols = columns(res)
    head = "| path | " + " | ".join(f"MTU {m} {'client→server' if d == 'up' else 'server→client'}"
                                    for m, d in cols) + " |"
    lines = [head, "|---" * (len(cols) + 1) + "|"]
    for t in res["targets"]:
        lines.append(f"| {LABEL[t]}, Gbit/s | " + " | ".join(fmt(cell(res, t, m, d)) for m, d in cols) + " |")
        if t != "kernel":
            lines.append(f"|   its CPU s/GB | " + " | ".join(fmt(cell(res, t, m, d, "cpu_s_per_gb"), ".3f")
                                                        for m, d in cols) + " |")
    fcols = columns(res, ("flows",))
    if any(cell(res, t, m, "flows", "tps") for t in res["targets"] for m, _ in fcols):
        lines.append("| new flows/s (connect, 1 B each way, close; one at a time) | " + " | ".join(
            f"MTU {m}" for m, _ in fcols) + " |" + " |" * (len(cols) - len(fcols)))
        for t in res["targets"]:
            lines.append(f"|   {LABEL[t]} | " + " | ".join(fmt(cell(res, t, m, "flows", "tps"), ",.0f")
                                                   for m, _ in fcols) + " |" + " |" * (len(cols) - len(fcols)))
    if "ustack" in res["targets"]:
        peers = [t for t in ("pasta", "slirp4netns") if t in res["targets"]]
        if peers:
            row = []
            for m, d in cols:
                u = cell(res, "ustack", m, d)
                best = max([cell(res, p, m, d) or 0 for p in peers])
                row.append(f"{u / best:.1f}x" if u and best else "n/a")
            lines.append("| ustack / the better of " + " and ".join(peers) + " | " + " | ".join(row) + " |")
        if "kernel" in res["targets"]:
            row = []
            for m, d in cols:
                u, k = cell(res, "ustack", m, d), cell(res, "kernel", m, d)
                row.append(f"{100 * u / k:.0f}%" if u and k else "n/a")
            lines.append("| ustack / kernel | " + " | ".join(row) + " |")
    return "\n".join(lines)


def header(res):
    m = res["machine"]
    return "\n".join([
        f"- Machine: {m['cpu']}, {m['cpus']} CPUs, Linux {m['kernel']}, {m['date']} "
        f"(load average at start {m['loadavg']}, at end {m.get('loadavg_end', '?')})",
        f"- iperf3 {SECS} s after 1 s left out (-O 1), median of {res['runs']} run(s); guest→host is "
        f"client→server; nothing pinned; the kernel's TCP congestion control: {res.get('cc', '?')}",
    ] + [f"- {LABEL[t]}: {n}" for t, n in res["notes"].items() if n])


def plot(res, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("no matplotlib: no plot")
        return
    cols = columns(res)
    fig, ax = plt.subplots(figsize=(11, 4.5))
    n = len(res["targets"])
    width = 0.8 / max(1, n)
    for i, t in enumerate(res["targets"]):
        ys = [cell(res, t, m, d) or 0 for m, d in cols]
        xs = [g + (i - (n - 1) / 2) * width for g in range(len(cols))]
        ax.bar(xs, ys, width, label=LABEL[t])
    ax.set_xticks(range(len(cols)))
    ax.set_xticklabels([f"MTU {m}\n{'client→server' if d == 'up' else 'server→client'}" for m, d in cols])
    ax.set_ylabel("Gbit/s (iperf3, one TCP connection)")
    ax.grid(axis="y", alpha=0.3)
    ax.legend()
    mm = res["machine"]
    ax.set_title(f"guest namespace → host: {mm['cpus']} CPUs, Linux {mm['kernel']}, {mm['date']}, "
                 f"median of {res['runs']}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def machine():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        with open("/proc/loadavg") as f:
            load = " ".join(f.read().split()[:3])
    except OSError:
        load = "?"
    return {"cpu": cpu, "cpus": os.cpu_count(), "kernel": platform.release(),
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "loadavg": load}


def main():
    if os.geteuid() != 0:
        print("bench-relay: needs root (network namespaces, TUN devices)", file=sys.stderr)
        return 1
    for tool in ["iperf3"] + [t for t in ("pasta", "slirp4netns") if t in TARGETS]:
        if subprocess.run(["which", tool], stdout=subprocess.DEVNULL).returncode != 0:
            print(f"bench-relay: {tool} missing (make deps installs it)", file=sys.stderr)
            return 1
    if "ustack" in TARGETS and not os.access(USTACK, os.X_OK):
        print(f"bench-relay: {USTACK} missing (make bench builds it)", file=sys.stderr)
        return 1
    os.makedirs(os.path.join(OUT, "logs"), exist_ok=True)
    for ns in our_namespaces():
        del_ns(ns)
    res = {"machine": machine(), "runs": RUNS, "secs": SECS, "mtus": MTUS, "targets": TARGETS, "notes": {},
           "results": {}}
    t0 = time.time()
    failed = False
    srvs = []
    try:
        srvs = setup_host()
        res["cc"] = sh(*nsx(HOST, "sysctl", "-n", "net.ipv4.tcp_congestion_control"), check=False).stdout.strip()
        for mtu in MTUS:
            paths = []
            for name in TARGETS:
                p = Path(name, mtu)
                try:
                    p.setup()
                    paths.append(p)
                    res["notes"][name] = p.note or p.version()
                except (RuntimeError, subprocess.SubprocessError, OSError) as e:
                    log(f"{name} at MTU {mtu}: FAILED to set up: {e}")
                    res["results"].setdefault(name, {})[str(mtu)] = {"error": str(e)}
                    failed = True
                    p.teardown()
            runs = {(p.name, d): [] for p in paths for d in DIRS}
            # Interleaved: every path once per round, so drifting load on a
            # shared machine touches them all alike.
            for i in range(RUNS):
                for p in paths:
                    for d in DIRS:
                        if d == "flows" and not os.access(RR, os.X_OK):
                            continue
                        r = p.run_flows() if d == "flows" else p.run(d == "down")
                        runs[(p.name, d)].append(r)
                        log(f"MTU {mtu} run {i + 1}/{RUNS} {p.name} {d}: "
                            + (f"{r['gbps']:.2f} Gbit/s" if "gbps" in r else "")
                            + (f"{r['tps']:,.0f} new flows/s" if "tps" in r else "")
                            + (f"ERROR {r['error']}" if "error" in r else "")
                            + (f", {r['cpu_s_per_gb']:.3f} CPU s/GB" if "cpu_s_per_gb" in r else ""))
                        failed |= "error" in r
            for p in paths:
                p.teardown()
                for d in DIRS:
                    rs = runs[(p.name, d)]
                    res["results"].setdefault(p.name, {}).setdefault(str(mtu), {})[d] = {
                        "runs": rs, "gbps": med(rs, "gbps"), "cpu_s_per_gb": med(rs, "cpu_s_per_gb"),
                        "tps": med(rs, "tps")}
    except KeyboardInterrupt:
        failed = True
        log("interrupted")
    except (RuntimeError, subprocess.SubprocessError, OSError) as e:
        failed = True
        log(f"FAILED: {e}")
    finally:
        for srv in srvs:
            srv.terminate()
            srv.wait(10)
        for ns in our_namespaces():
            del_ns(ns)
    with open("/proc/loadavg") as f:
        res["machine"]["loadavg_end"] = " ".join(f.read().split()[:3])
    res["elapsed_s"] = round(time.time() - t0, 1)
    with open(os.path.join(OUT, "relay.json"), "w") as f:
        json.dump(res, f, indent=1)
    with open(os.path.join(OUT, "relay.md"), "w") as f:
        f.write(header(res) + "\n\n" + table(res) + "\n")
    plot(res, os.path.join(OUT, "relay.png"))
    print()
    print(header(res))
    print()
    print(table(res))
    print()
    log(f"{res['elapsed_s']} s; relay.json, relay.md and relay.png in {OUT}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
