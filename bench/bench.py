#!/usr/bin/python3
"""The benchmark suite (`make bench`): the same workloads against ustack on a
TAP and on a TUN, lwIP on a TAP, and the Linux kernel over a veth pair, each
in network namespaces created here (ust-bench-*) and deleted afterwards.

Environment:
  BENCH_RUNS=3       runs of every workload; each figure is their median
  BENCH_SECS=3       seconds per workload run
  BENCH_QUICK=1      smoke test: 1 run of 1 s each
  BENCH_CONNS=1000   connections in the concurrent-connections workload
  BENCH_WORKLOADS=... comma list of workloads (default: all; e.g. bulk_send,bulk_send6)
  BENCH_TARGETS=...  comma list (default: ustack-tap,ustack-tap-busy,ustack-tap-plain,ustack-tap-2q,
                     ustack-tun,lwip-tap,kernel-veth; -busy: --busy-poll 50, -plain: --no-offload,
                     -2q: --queues 2)
  BENCH_SERVER_CPU=1 BENCH_CLIENT_CPU=0   CPUs the server and clients are pinned to
  BENCH_OUT=bench/results   where latest.{json,md,png} and logs/ go
  BENCH_TUNNEL=0     skip the `ustack tunnel` section (bench/tunnel.py, tunnel.{json,md,png})
  BENCH_RELAY=0      skip the relay section (bench/relay.py: relay.{json,md,png})
  BENCH_LOSS=0       skip the lossy-path matrix (bench/loss.py, run last: its own environment)
  USTACK, RR, LWIP_BENCH, TAPRATE  binaries (default build/ustack, build/bench/{rr,lwip_bench,taprate})

Devices: TAP/TUN usbench0..2, veth vbn0/vbn1; addresses in 10.214.0.0/16 and
fd14:214::/32 only. ustack's targets and the kernel's veth have both families:
the IPv6 rows (bulk each way, 1-byte RR) run beside the IPv4 ones, with
IPv6's bulk figure as a share of IPv4's from the same run.
"""
import datetime
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QUICK = os.environ.get("BENCH_QUICK") == "1"
RUNS = 1 if QUICK else int(os.environ.get("BENCH_RUNS", "3"))
SECS = 1.0 if QUICK else float(os.environ.get("BENCH_SECS", "3"))
CONNS = int(os.environ.get("BENCH_CONNS", "1000"))
SCPU = os.environ.get("BENCH_SERVER_CPU", "1")
CCPU = os.environ.get("BENCH_CLIENT_CPU", "0")
OUT = os.path.abspath(os.environ.get("BENCH_OUT", os.path.join(ROOT, "bench", "results")))
USTACK = os.path.abspath(os.environ.get("USTACK", os.path.join(ROOT, "build", "ustack")))
RR = os.path.abspath(os.environ.get("RR", os.path.join(ROOT, "build", "bench", "rr")))
LWIP = os.path.abspath(os.environ.get("LWIP_BENCH", os.path.join(ROOT, "build", "bench", "lwip_bench")))
TAPRATE = os.path.abspath(os.environ.get("TAPRATE", os.path.join(ROOT, "build", "bench", "taprate")))
BUSY_POLL_US = 50
ALL_TARGETS = ["ustack-tap", "ustack-tap-busy", "ustack-tap-plain", "ustack-tap-2q", "ustack-tun", "lwip-tap", "kernel-veth"]
TARGETS = [t for t in os.environ.get("BENCH_TARGETS", ",".join(ALL_TARGETS)).split(",") if t]
CLK_TCK = os.sysconf("SC_CLK_TCK")
NS_PREFIX = "ust-bench-"

PORT_ECHO, PORT_DISCARD, PORT_SOURCE, PORT_IPERF = 7, 9, 19, 5201


def log(msg):
    print(f"bench: {msg}", flush=True)


def sh(*args, check=True, timeout=30, **kw):
    return subprocess.run(list(args), check=check, timeout=timeout, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, **kw)


def ns_exec(ns, *args):
    return ["ip", "netns", "exec", ns, *args]


def proc_cpu(pid):
    """utime+stime of a whole process (all threads), seconds."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, IndexError, ValueError):
        return None


def del_ns(ns):
    subprocess.run(["ip", "netns", "del", ns], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)


def our_namespaces():
    r = subprocess.run(["ip", "netns", "list"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                       timeout=30)
    return [line.split()[0] for line in r.stdout.splitlines() if line.startswith(NS_PREFIX)]


def new_ns(ns):
    del_ns(ns)
    sh("ip", "netns", "add", ns)
    sh(*ns_exec(ns, "ip", "link", "set", "lo", "up"))
    # The same TCP settings on every client side: a wide port range, and few
    # TIME_WAIT buckets so that thousands of short connections per second
    # never run out of ports (past the limit the kernel closes instead of
    # keeping TIME_WAIT; lwIP has no timestamps, so tcp_tw_reuse would not
    # help it). CUBIC, as ustack's default, where the host allows it (a
    # namespace may only pick from net.ipv4.tcp_allowed_congestion_control).
    for k, v in (("net.ipv4.ip_local_port_range", "1024 65535"), ("net.ipv4.tcp_tw_reuse", "1"),
                 ("net.ipv4.tcp_max_tw_buckets", "1024")):
        sh(*ns_exec(ns, "sysctl", "-qw", f"{k}={v}"))
    sh(*ns_exec(ns, "sysctl", "-qw", "net.ipv4.tcp_congestion_control=cubic"), check=False)


def ns_cc(ns):
    r = sh(*ns_exec(ns, "sysctl", "-n", "net.ipv4.tcp_congestion_control"), check=False)
    return r.stdout.strip() or "?"


class Target:
    """A server under test in its namespace(s); clients run in self.cns."""

    def __init__(self, name):
        self.name = name
        self.proc = None
        self.namespaces = []
        self.logpath = os.path.join(OUT, "logs", f"{name}.log")
        self.notes = []
        self.has_iperf3 = True
        self.ip6 = None   # the server's IPv6 address, where it has one

    def start_server(self, ns, argv, ready_word):
        logf = open(self.logpath, "w")
        self.proc = subprocess.Popen(ns_exec(ns, "taskset", "-c", SCPU, *argv), stdout=logf, stderr=subprocess.STDOUT)
        logf.close()
        deadline = time.time() + 10
        while time.time() < deadline:
            with open(self.logpath) as f:
                if ready_word in f.read():
                    return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"{self.name}: server did not become ready (see {self.logpath})")

    def setup(self):
        n = self.name
        if n.startswith("ustack"):
            tun = n.endswith("tun")
            net = 2 if tun else 1
            extra = {"ustack-tap-busy": ["--busy-poll", str(BUSY_POLL_US)], "ustack-tap-plain": ["--no-offload"],
                     "ustack-tap-2q": ["--queues", "2"]}.get(n, [])
            self.cns = self.sns = f"{NS_PREFIX}{n[len('ustack-'):]}"
            new_ns(self.cns)
            self.namespaces = [self.cns]
            self.ip = f"10.214.{net}.2"
            self.ip6 = f"fd14:214:{net}::2"
            dev = "usbench1" if tun else "usbench0"
            self.start_server(self.sns, [USTACK, "serve", "--tun" if tun else "--tap", dev, "--ip", f"{self.ip}/24",
                                         "--host-ip", f"10.214.{net}.1/24", "--ip", f"{self.ip6}/64",
                                         "--host-ip", f"fd14:214:{net}::1/64", "--tcp-echo", str(PORT_ECHO),
                                         "--discard", str(PORT_DISCARD), "--source", str(PORT_SOURCE),
                                         "--iperf3", str(PORT_IPERF), *extra], "ready")
            if n == "ustack-tap-busy":
                self.notes.append(f"--busy-poll {BUSY_POLL_US}: after input the stack thread polls the TAP for "
                                  f"{BUSY_POLL_US} us more instead of sleeping (no wakeup per burst; its CPU "
                                  "spins while traffic flows, so its CPU s/GB include the spinning)")
            if extra == ["--queues", "2"]:
                self.notes.append("two queues: one stack thread on each CPU (queue q on CPU q), sharing CPU "
                                  f"{CCPU} with the clients; no iperf3 rows: its control and data "
                                  "connections may land on different queues, i.e. different stacks")
                self.has_iperf3 = False
        elif n == "lwip-tap":
            self.cns = self.sns = f"{NS_PREFIX}lwip"
            new_ns(self.cns)
            self.namespaces = [self.cns]
            self.ip = "10.214.3.2"
            self.start_server(self.sns, [LWIP, "usbench2", f"{self.ip}/24", str(PORT_ECHO), str(PORT_DISCARD),
                                         str(PORT_SOURCE)], "ready")
            sh(*ns_exec(self.cns, "ip", "addr", "add", "10.214.3.1/24", "dev", "usbench2"))
            sh(*ns_exec(self.cns, "ip", "link", "set", "usbench2", "up"))
            self.has_iperf3 = False
            with open(self.logpath) as f:
                m = re.search(r"lwIP .*", f.read())
                if m:
                    self.notes.append(m.group(0))
        elif n == "kernel-veth":
            self.cns, self.sns = f"{NS_PREFIX}kc", f"{NS_PREFIX}ks"
            new_ns(self.cns)
            new_ns(self.sns)
            self.namespaces = [self.cns, self.sns]
            sh(*ns_exec(self.cns, "ip", "link", "add", "vbn0", "type", "veth", "peer", "name", "vbn1", "netns",
                        self.sns))
            sh(*ns_exec(self.cns, "ip", "addr", "add", "10.214.4.1/24", "dev", "vbn0"))
            sh(*ns_exec(self.sns, "ip", "addr", "add", "10.214.4.2/24", "dev", "vbn1"))
            sh(*ns_exec(self.cns, "ip", "addr", "add", "fd14:214:4::1/64", "dev", "vbn0", "nodad"))
            sh(*ns_exec(self.sns, "ip", "addr", "add", "fd14:214:4::2/64", "dev", "vbn1", "nodad"))
            self.ip6 = "fd14:214:4::2"
            sh(*ns_exec(self.cns, "ip", "link", "set", "vbn0", "up"))
            sh(*ns_exec(self.sns, "ip", "link", "set", "vbn1", "up"))
            self.ip = "10.214.4.2"
            self.start_server(self.sns, [RR, "server", str(PORT_ECHO), str(PORT_DISCARD), str(PORT_SOURCE)], "ready")
            # The kernel's own iperf3 server for the iperf3 rows.
            self.iperf_proc = subprocess.Popen(ns_exec(self.sns, "taskset", "-c", SCPU, "iperf3", "-s", "-p",
                                                       str(PORT_IPERF)), stdout=subprocess.DEVNULL,
                                               stderr=subprocess.DEVNULL)
            time.sleep(0.3)
            off = sh(*ns_exec(self.cns, "ethtool", "-k", "vbn0"), check=False).stdout
            on = [k for k in ("tcp-segmentation-offload", "generic-receive-offload", "generic-segmentation-offload")
                  if re.search(rf"^{k}: on", off, re.M)]
            self.notes.append("veth offloads on: " + (", ".join(on) if on else "none reported") +
                              "; kernel CPU is the client's and server's process time only: softirq work "
                              "done outside them is not attributable")
        else:
            raise RuntimeError(f"unknown target {n}")
        self.notes.append(f"kernel TCP congestion control on the client side: {ns_cc(self.cns)}")
        # Wait until the server answers (ARP and NDP, listeners; DAD on
        # ustack's IPv6 address).
        for ip in (self.ip, self.ip6):
            if ip is None:
                continue
            for _ in range(50):
                r = subprocess.run(ns_exec(self.cns, "taskset", "-c", CCPU, RR, "rr", ip, str(PORT_ECHO), "1", "0.01"),
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, timeout=30)
                if r.returncode == 0:
                    break
                time.sleep(0.1)
            else:
                raise RuntimeError(f"{self.name}: server at {ip} does not answer")

    def teardown(self):
        rc = None
        for p in (getattr(self, "iperf_proc", None), self.proc):
            if p and p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    rc = p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
                    rc = "killed"
            elif p:
                rc = p.returncode
        if rc not in (0, None):
            self.notes.append(f"server exited with {rc} (see log)")
        for ns in self.namespaces:
            del_ns(ns)

    def client(self, argv, timeout):
        try:
            return subprocess.run(ns_exec(self.cns, "taskset", "-c", CCPU, *argv), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            # ustack prints its counters and connections on SIGUSR1: keep
            # them in the log to see where it stood.
            if self.name.startswith("ustack") and self.proc.poll() is None:
                self.proc.send_signal(signal.SIGUSR1)
            return subprocess.CompletedProcess(argv, -1, "", f"timed out after {timeout:g} s: {' '.join(argv)}")


def run_rr(t, args, gb_key=None):
    """One rr client run; adds server CPU and per-GB costs."""
    c0 = proc_cpu(t.proc.pid)
    r = t.client([RR, *args], timeout=SECS + 30)
    c1 = proc_cpu(t.proc.pid)
    try:
        d = json.loads(r.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        d = {"error": (r.stderr or r.stdout).strip()[-300:] or f"exit {r.returncode}"}
    if r.returncode != 0 and "error" not in d:
        d["error"] = f"exit {r.returncode}: {r.stderr.strip()[-200:]}"
    if c0 is not None and c1 is not None:
        d["server_cpu_s"] = round(c1 - c0, 4)
    if gb_key and "bytes" in d and d["bytes"] > 0:
        gb = d["bytes"] / 1e9
        d["client_cpu_s_per_gb"] = round(d["cpu_s"] / gb, 4)
        if "server_cpu_s" in d:
            d["server_cpu_s_per_gb"] = round(d["server_cpu_s"] / gb, 4)
    return d


def run_iperf3(t, reverse, streams=1):
    server = t.iperf_proc if t.name == "kernel-veth" else t.proc
    c0 = proc_cpu(server.pid)
    secs = max(1, int(round(SECS)))
    r = t.client(["iperf3", "-c", t.ip, "-p", str(PORT_IPERF), "-t", str(secs), "-J", *(["-R"] if reverse else []),
                  *(["-P", str(streams)] if streams > 1 else [])], timeout=secs + 30)
    c1 = proc_cpu(server.pid)
    try:
        j = json.loads(r.stdout)
    except ValueError:
        return {"error": (r.stderr or r.stdout).strip()[-300:] or f"exit {r.returncode}"}
    if "error" in j:
        return {"error": j["error"]}
    rec = j["end"]["sum_received"]
    d = {"gbps": round(rec["bits_per_second"] / 1e9, 4), "bytes": rec["bytes"], "secs": rec["seconds"],
         "retransmits": j["end"]["sum_sent"].get("retransmits")}
    if c0 is not None and c1 is not None:
        d["server_cpu_s"] = round(c1 - c0, 4)
        if rec["bytes"]:
            d["server_cpu_s_per_gb"] = round((c1 - c0) / (rec["bytes"] / 1e9), 4)
    return d


WORKLOADS = [
    # name, description
    ("bulk_send", "bulk kernel -> server (client writes to discard)"),
    ("bulk_recv", "bulk server -> kernel (client reads from source)"),
    ("rr1", "request/response 1 byte"),
    ("rr1k", "request/response 1 KB"),
    ("crr", "new connection per 1-byte transaction"),
    ("conc", f"{CONNS} concurrent connections, 1-byte transactions"),
    ("iperf3", "iperf3 -c (client sends)"),
    ("iperf3_R", "iperf3 -c -R (server sends)"),
    ("bulk_send4", "bulk kernel -> server, 4 connections at once (4 rr clients)"),
    ("bulk_recv4", "bulk server -> kernel, 4 connections at once (4 rr clients)"),
    ("bulk_send6", "IPv6: bulk kernel -> server (client writes to discard)"),
    ("bulk_recv6", "IPv6: bulk server -> kernel (client reads from source)"),
    ("rr1_6", "IPv6: request/response 1 byte"),
]
V6_OF = {"bulk_send6": "bulk_send", "bulk_recv6": "bulk_recv", "rr1_6": "rr1"}
# BENCH_WORKLOADS=bulk_send,bulk_send6,...: only these (default: all)
_only = [w for w in os.environ.get("BENCH_WORKLOADS", "").split(",") if w]
if _only:
    _unknown = [w for w in _only if w not in dict(WORKLOADS)]
    if _unknown:
        sys.exit(f"bench: unknown workload(s) {', '.join(_unknown)}; known: {', '.join(w for w, _ in WORKLOADS)}")
    WORKLOADS = [(w, d) for w, d in WORKLOADS if w in _only]


def run_parallel(t, mode, port, n=4):
    """n rr clients at once, each its own connection; Gbit/s summed."""
    c0 = proc_cpu(t.proc.pid)
    ps = [subprocess.Popen(ns_exec(t.cns, "taskset", "-c", CCPU, RR, mode, t.ip, str(port), f"{SECS:g}"),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(n)]
    outs = []
    for p in ps:
        try:
            o, e = p.communicate(timeout=SECS + 30)
            outs.append((p.returncode, o, e))
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
            outs.append((-1, "", "timed out"))
    c1 = proc_cpu(t.proc.pid)
    total, nbytes = 0.0, 0
    for rc, o, e in outs:
        try:
            d = json.loads(o.strip().splitlines()[-1])
        except (IndexError, ValueError):
            return {"error": (e or o).strip()[-200:] or f"exit {rc}"}
        if rc != 0 or "gbps" not in d:
            return {"error": f"exit {rc}: {e.strip()[-200:]}"}
        total += d["gbps"]
        nbytes += d.get("bytes", 0)
    r = {"gbps": round(total, 4), "bytes": nbytes}
    if c0 is not None and c1 is not None and nbytes:
        r["server_cpu_s_per_gb"] = round((c1 - c0) / (nbytes / 1e9), 4)
    return r



def run_workload(t, w):
    s = f"{SECS:g}"
    if w == "bulk_send":
        return run_rr(t, ["send", t.ip, str(PORT_DISCARD), s], gb_key=True)
    if w == "bulk_recv":
        return run_rr(t, ["recv", t.ip, str(PORT_SOURCE), s], gb_key=True)
    if w == "rr1":
        return run_rr(t, ["rr", t.ip, str(PORT_ECHO), "1", s])
    if w == "rr1k":
        return run_rr(t, ["rr", t.ip, str(PORT_ECHO), "1024", s])
    if w == "crr":
        return run_rr(t, ["crr", t.ip, str(PORT_ECHO), s])
    if w == "conc":
        return run_rr(t, ["conc", t.ip, str(PORT_ECHO), str(CONNS), s])
    if w in ("iperf3", "iperf3_R"):
        if not t.has_iperf3:
            return None
        return run_iperf3(t, w == "iperf3_R")
    if w == "bulk_send4":
        return run_parallel(t, "send", PORT_DISCARD)
    if w == "bulk_recv4":
        return run_parallel(t, "recv", PORT_SOURCE)
    if w == "bulk_send6":
        return None if t.ip6 is None else run_rr(t, ["send", t.ip6, str(PORT_DISCARD), s], gb_key=True)
    if w == "bulk_recv6":
        return None if t.ip6 is None else run_rr(t, ["recv", t.ip6, str(PORT_SOURCE), s], gb_key=True)
    if w == "rr1_6":
        return None if t.ip6 is None else run_rr(t, ["rr", t.ip6, str(PORT_ECHO), "1", s])
    raise ValueError(w)


def median_of(runs):
    """Median of every numeric field over the runs without an error."""
    good = [r for r in runs if r and "error" not in r]
    med = {}
    if not good:
        return med
    for k in good[0]:
        vals = [r[k] for r in good if isinstance(r.get(k), (int, float)) and not isinstance(r.get(k), bool)]
        if vals and len(vals) == len(good):
            med[k] = statistics.median(vals)
    med["ok_runs"] = len(good)
    return med


def machine():
    model, cores = "?", os.cpu_count()
    try:
        out = sh("lscpu").stdout
        m = re.search(r"^Model name:\s*(.*)$", out, re.M)
        model = m.group(1).strip() if m else model
    except (OSError, subprocess.SubprocessError):
        pass
    with open("/proc/loadavg") as f:
        load = f.read().split()[:3]
    return {"cpu": model, "cpus": cores, "kernel": platform.release(),
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "loadavg_start": " ".join(load)}


# ---- report -------------------------------------------------------------------
ROWS = [
    # (label, workload, field, format)
    ("bulk kernel→server, Gbit/s", "bulk_send", "gbps", "{:.2f}"),
    ("  server CPU s/GB", "bulk_send", "server_cpu_s_per_gb", "{:.3f}"),
    ("  client CPU s/GB", "bulk_send", "client_cpu_s_per_gb", "{:.3f}"),
    ("bulk server→kernel, Gbit/s", "bulk_recv", "gbps", "{:.2f}"),
    ("  server CPU s/GB", "bulk_recv", "server_cpu_s_per_gb", "{:.3f}"),
    ("  client CPU s/GB", "bulk_recv", "client_cpu_s_per_gb", "{:.3f}"),
    ("RR 1 B, transactions/s", "rr1", "tps", "{:,.0f}"),
    ("  p50 / p99 µs", "rr1", ("p50_us", "p99_us"), "{:.1f} / {:.1f}"),
    ("RR 1 KB, transactions/s", "rr1k", "tps", "{:,.0f}"),
    ("  p50 / p99 µs", "rr1k", ("p50_us", "p99_us"), "{:.1f} / {:.1f}"),
    ("new connections/s (1 B RR each)", "crr", "tps", "{:,.0f}"),
    ("  p50 / p99 µs", "crr", ("p50_us", "p99_us"), "{:.1f} / {:.1f}"),
    (f"{CONNS} conns: set-up s", "conc", "setup_s", "{:.3f}"),
    (f"{CONNS} conns: transactions/s", "conc", "tps", "{:,.0f}"),
    ("  p50 / p99 µs", "conc", ("p50_us", "p99_us"), "{:.0f} / {:.0f}"),
    ("iperf3 client→server, Gbit/s", "iperf3", "gbps", "{:.2f}"),
    ("iperf3 -R server→client, Gbit/s", "iperf3_R", "gbps", "{:.2f}"),
    ("4 conns kernel→server, Gbit/s", "bulk_send4", "gbps", "{:.2f}"),
    ("4 conns server→kernel, Gbit/s", "bulk_recv4", "gbps", "{:.2f}"),
    ("IPv6 bulk kernel→server, Gbit/s", "bulk_send6", "gbps", "{:.2f}"),
    ("  IPv6 / IPv4", "bulk_send6", "v6_over_v4", "{:.2f}"),
    ("  server CPU s/GB", "bulk_send6", "server_cpu_s_per_gb", "{:.3f}"),
    ("IPv6 bulk server→kernel, Gbit/s", "bulk_recv6", "gbps", "{:.2f}"),
    ("  IPv6 / IPv4", "bulk_recv6", "v6_over_v4", "{:.2f}"),
    ("  server CPU s/GB", "bulk_recv6", "server_cpu_s_per_gb", "{:.3f}"),
    ("IPv6 RR 1 B, transactions/s", "rr1_6", "tps", "{:,.0f}"),
    ("  p50 / p99 µs", "rr1_6", ("p50_us", "p99_us"), "{:.1f} / {:.1f}"),
]


def cell(res, target, w, field, fmt):
    tr = res["targets"].get(target, {})
    if "error" in tr:
        return "fail"
    wr = tr.get(w)
    if wr is None:
        return "n/a"
    med = wr["median"]
    if not med:
        return "fail"
    fields = field if isinstance(field, tuple) else (field,)
    if any(f not in med for f in fields):
        return "-"
    s = fmt.format(*[med[f] for f in fields])
    if med.get("ok_runs", 0) < len(wr["runs"]):
        s += f" ({med['ok_runs']}/{len(wr['runs'])} ok)"
    return s


def table(res, md):
    targets = res["targets_order"]
    head = ["", *targets]
    ran = dict(WORKLOADS)
    rows = [[label, *[cell(res, t, w, f, fmt) for t in targets]] for label, w, f, fmt in ROWS if w in ran]
    if md:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines)
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    fmt_row = lambda r: "  ".join(c.ljust(widths[0]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(r))
    return "\n".join([fmt_row(head), *[fmt_row(r) for r in rows]])


def header(res, md):
    m = res["machine"]
    c = res["config"]
    lines = [f"Machine: {m['cpu']}, {m['cpus']} CPUs, Linux {m['kernel']}, {m['date']} "
             f"(load average at start {m['loadavg_start']}, at end {m.get('loadavg_end', '?')})",
             f"Each figure: median of {c['runs']} run(s) of {c['secs']:g} s; server pinned to CPU {c['server_cpu']}, "
             f"clients to CPU {c['client_cpu']}."]
    raw = res.get("raw_tap")
    if raw and "read_ns" in raw:
        lines.append(f"Raw TAP fd, {raw['frame']}-byte frames, one per call, no stack (bench/taprate): read "
                     f"{raw['read_ns']:.0f} ns/frame = {raw['read_gbps']:.2f} Gbit/s, write {raw['write_ns']:.0f} "
                     f"ns/frame = {raw['write_gbps']:.2f} Gbit/s: the ceiling of plain (no offload) TAP I/O")
    for t in res["targets_order"]:
        for n in res["targets"].get(t, {}).get("notes", []):
            lines.append(f"{t}: {n}")
        if "error" in res["targets"].get(t, {}):
            lines.append(f"{t}: FAILED: {res['targets'][t]['error']}")
    if md:
        return "\n".join(f"- {l}" for l in lines)
    return "\n".join(lines)


def plot(res, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("python3-matplotlib missing: no plot")
        return
    targets = res["targets_order"]

    def val(t, w, f):
        wr = res["targets"].get(t, {}).get(w)
        return (wr or {}).get("median", {}).get(f, 0) or 0

    panels = [
        ("Throughput, Gbit/s", [("bulk →srv", "bulk_send", "gbps"), ("bulk srv→", "bulk_recv", "gbps"),
                                ("iperf3", "iperf3", "gbps"), ("iperf3 -R", "iperf3_R", "gbps")]),
        ("CPU s per GB (server)", [("bulk →srv", "bulk_send", "server_cpu_s_per_gb"),
                                   ("bulk srv→", "bulk_recv", "server_cpu_s_per_gb")]),
        ("Transactions/s (thousands)", [("RR 1 B", "rr1", "tps"), ("RR 1 KB", "rr1k", "tps"),
                                        ("conn/s", "crr", "tps"), (f"{CONNS} conns", "conc", "tps")]),
        ("RR latency, µs", [("1 B p50", "rr1", "p50_us"), ("1 B p99", "rr1", "p99_us"),
                            ("1 KB p50", "rr1k", "p50_us"), ("1 KB p99", "rr1k", "p99_us")]),
    ]
    fig, axes = plt.subplots(2, 2, figsize=(13, 8))
    width = 0.8 / max(1, len(targets))
    for ax, (title, groups) in zip(axes.flat, panels):
        for i, t in enumerate(targets):
            ys = [val(t, w, f) / (1000 if "thousands" in title else 1) for _, w, f in groups]
            xs = [g + (i - (len(targets) - 1) / 2) * width for g in range(len(groups))]
            ax.bar(xs, ys, width, label=t)
        ax.set_xticks(range(len(groups)))
        ax.set_xticklabels([g[0] for g in groups])
        ax.set_title(title)
        if "latency" in title or "Transactions" in title:
            ax.set_yscale("log")   # p99 and 1000-connection figures dwarf the rest
        ax.grid(axis="y", alpha=0.3)
    axes.flat[0].legend()
    m = res["machine"]
    fig.suptitle(f"ustack benchmark: {m['cpu']}, {m['cpus']} CPUs, Linux {m['kernel']}, {m['date']}, "
                 f"median of {res['config']['runs']}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main():
    if os.geteuid() != 0:
        print("bench: needs root (network namespaces, TAP/TUN devices)", file=sys.stderr)
        return 1
    for b in (RR,) + ((USTACK,) if any(t.startswith("ustack") for t in TARGETS) else ()) + (
            (LWIP,) if "lwip-tap" in TARGETS else ()):
        if not os.access(b, os.X_OK):
            print(f"bench: {b} missing (make bench builds it)", file=sys.stderr)
            return 1
    os.makedirs(os.path.join(OUT, "logs"), exist_ok=True)
    for ns in our_namespaces():   # left over by an interrupted run
        del_ns(ns)
    res = {"machine": machine(), "config": {"runs": RUNS, "secs": SECS, "conns": CONNS, "server_cpu": SCPU,
                                            "client_cpu": CCPU, "quick": QUICK},
           "targets_order": TARGETS, "targets": {}, "workloads": dict(WORKLOADS)}
    t0 = time.time()
    interrupted = False
    if os.access(TAPRATE, os.X_OK):
        r = subprocess.run(["taskset", "-c", SCPU, TAPRATE, "1514", f"{max(1.0, SECS):g}"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=60)
        try:
            res["raw_tap"] = json.loads(r.stdout.strip().splitlines()[-1])
            log(f"raw TAP: {res['raw_tap']}")
        except (IndexError, ValueError):
            res["raw_tap"] = {"error": r.stderr.strip()[-200:]}

    def on_term(sig, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    try:
        for name in TARGETS:
            t = Target(name)
            tr = {"notes": t.notes}
            res["targets"][name] = tr
            log(f"{name}: setting up")
            try:
                t.setup()
                runs = {w: [] for w, _ in WORKLOADS}
                for i in range(RUNS):
                    for w, _ in WORKLOADS:
                        d = run_workload(t, w)
                        if d is None:
                            runs[w] = None
                            continue
                        runs[w].append(d)
                        short = {k: d[k] for k in ("gbps", "tps", "p50_us", "p99_us", "error") if k in d}
                        log(f"{name} run {i + 1}/{RUNS} {w}: {short}")
                for w, rs in runs.items():
                    tr[w] = None if rs is None else {"runs": rs, "median": median_of(rs)}
                # IPv6's figure as a share of IPv4's, medians of the same run.
                for w6, w4 in V6_OF.items():
                    m6, m4 = (tr.get(w6) or {}).get("median", {}), (tr.get(w4) or {}).get("median", {})
                    k = "gbps" if "gbps" in m6 else "tps"
                    if m6.get(k) and m4.get(k):
                        m6["v6_over_v4"] = round(m6[k] / m4[k], 3)
            except (RuntimeError, subprocess.SubprocessError, OSError) as e:
                tr["error"] = str(e)
                log(f"{name}: FAILED: {e}")
            finally:
                t.teardown()
    except KeyboardInterrupt:
        interrupted = True
        log("interrupted")
    finally:
        for ns in our_namespaces():
            del_ns(ns)
    if not interrupted and os.environ.get("BENCH_TUNNEL", "1") != "0":
        import tunnel   # bench/tunnel.py: the `ustack tunnel` section (tunnel.{json,md,png})
        res["tunnel"] = tunnel.run(OUT, RUNS, SECS, USTACK, log)
    if not interrupted and os.environ.get("BENCH_AFXDP", "1") != "0":
        import afxdp   # bench/afxdp.py: TAP, AF_PACKET, AF_XDP and the kernel on one veth (afxdp.{json,md})
        res["afxdp"] = afxdp.run(OUT, RUNS, SECS, USTACK, RR, os.environ.get("UDPECHO", RR + "-udpecho"), log, SCPU,
                                 CCPU, 20 if QUICK else 100)
    with open("/proc/loadavg") as f:
        res["machine"]["loadavg_end"] = " ".join(f.read().split()[:3])
    res["elapsed_s"] = round(time.time() - t0, 1)
    with open(os.path.join(OUT, "latest.json"), "w") as f:
        json.dump(res, f, indent=1)
    with open(os.path.join(OUT, "latest.md"), "w") as f:
        f.write(header(res, True) + "\n\n" + table(res, True) + "\n")
    plot(res, os.path.join(OUT, "latest.png"))
    print()
    print(header(res, False))
    print()
    print(table(res, False))
    print()
    log(f"{res['elapsed_s']} s; raw numbers in {OUT}/latest.json, table in latest.md, plot in latest.png")
    failed = interrupted or any("error" in tr for tr in res["targets"].values())
    if not interrupted and os.environ.get("BENCH_RUN", "1") == "1":   # `ustack run` (bench/bench_run.py)
        import bench_run
        failed = bench_run.main() != 0 or failed
    # The relay section (bench/relay.py; BENCH_RELAY=0 skips it).
    if not interrupted and os.environ.get("BENCH_RELAY", "1") != "0":
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import relay
        failed = relay.main() != 0 or failed
    if not interrupted and os.environ.get("BENCH_LOSS", "1") != "0":
        # TCP through a lossy router (bench/loss.py; BENCH_LOSS=0 skips it).
        env = dict(os.environ, USTACK=USTACK, LOSS_OUT=OUT, **({"LOSS_RUNS": "1", "LOSS_SECS": "2"} if QUICK else {}))
        failed |= subprocess.run([sys.executable, os.path.join(ROOT, "bench", "loss.py")], env=env).returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
