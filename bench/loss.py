#!/usr/bin/python3
"""TCP through a lossy path (`make bench` runs it after bench.py; or on its own).

A client namespace reaches its servers through a router namespace that
forwards between them and drops P% of the TCP packets it forwards, each way,
at random (nftables `numgen random` in the forward hook): neither end sees the
drop, as on a real lossy path. Offloads are off on every veth and TAP, so a
drop is one MTU-sized packet. The servers:

  kernel          the Linux kernel's iperf3 server in a third namespace (veth)
  ustack-CC       `ustack serve --iperf3 --no-offload --cc CC` on a TAP device
                  in the router namespace, one per congestion control CC
  offload-CC      `ustack serve --iperf3 --cc CC` with its offloads on (the
                  default), its TAP in a namespace of its own behind a veth,
                  as the kernel's server is: the kernel cuts its 64 KB frames
                  on that veth, before the router, as it cuts its own GSO
                  packets, so a drop is still one MTU-sized packet (one
                  forwarding hop more than the kernel's server has: that
                  namespace forwards between the veth and the TAP)

iperf3 (Debian's, in the client namespace) runs LOSS_SECS seconds each way:
"send" is the client sending to the server, "recv" (-R) the server sending to
the client. The kernel's congestion control is chosen with iperf3 -C and the
namespaces' own net.ipv4.tcp_congestion_control. Each figure is the median of
LOSS_RUNS runs, taken interleaved (run 1 of every case, then run 2, ...) so
that a change of load on the machine falls on every case alike.

Environment:
  LOSS_RUNS=3          runs per case; the figure is their median
  LOSS_SECS=5          seconds per iperf3 run
  LOSS_RATES=0,0.1,1,5 percent dropped each way
  LOSS_USTACK_CC=bbr,cubic,reno  ustack's congestion controls (one server each; the first is
                               the one the verdict table compares with the kernel's BBR)
  LOSS_KERNEL_CC=bbr,cubic     the kernel's
  LOSS_SERVER_CPU=1 LOSS_CLIENT_CPU=0
  LOSS_OUT=bench/results       writes loss.{json,md,png} (and logs/loss-*.log)
  LOSS_TAG=                    suffix for the output names (loss-TAG.md ...)
  LOSS_OFFLOAD_CC=bbr          the offload-CC servers (empty: none)
  LOSS_EXTRA=LABEL=PATH[:CC],...  more ustack binaries in the same run (A/B experiments)
  LOSS_CASES=                  only the cases whose key contains one of these comma-separated words
                               (keys: kernel-bbr:send, ustack-cubic:recv, kernel-bbr:into-ustack, ...)
  LOSS_PCAP=DIR                ustack writes a capture of every frame to DIR/NAME.pcap (debugging)
  USTACK                       the binary (default build/ustack)
  USTACK_BEFORE=PATH           also an older ustack binary, shown as "before" beside the current one in
                               the same run (its default congestion control; --cc if it has it:
                               LOSS_BEFORE_CC=cubic)

Namespaces tcploss-c (client), tcploss-r (router, the ustack TAPs),
tcploss-s (kernel server), tcploss-uN (an offload-CC server's TAP);
addresses in 10.216.0.0/16; all deleted at exit.
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
RUNS = int(os.environ.get("LOSS_RUNS", "3"))
SECS = int(os.environ.get("LOSS_SECS", "5"))
RATES = [float(x) for x in os.environ.get("LOSS_RATES", "0,0.1,1,5").split(",") if x]
UCC = [x for x in os.environ.get("LOSS_USTACK_CC", "bbr,cubic,reno").split(",") if x]
OCC = [x for x in os.environ.get("LOSS_OFFLOAD_CC", "bbr").split(",") if x]
KCC = [x for x in os.environ.get("LOSS_KERNEL_CC", "bbr,cubic").split(",") if x]
SCPU = os.environ.get("LOSS_SERVER_CPU", "1")
CCPU = os.environ.get("LOSS_CLIENT_CPU", "0")
OUT = os.path.abspath(os.environ.get("LOSS_OUT", os.path.join(ROOT, "bench", "results")))
TAG = os.environ.get("LOSS_TAG", "")
USTACK = os.path.abspath(os.environ.get("USTACK", os.path.join(ROOT, "build", "ustack")))
BEFORE = os.environ.get("USTACK_BEFORE")
BEFORE_CC = [x for x in os.environ.get("LOSS_BEFORE_CC", "cubic").split(",") if x]


def ustack_servers():
    """(name, binary, cc) of every ustack server; "before" ones first."""
    out = []
    if BEFORE:
        out += [(f"before-{cc}", os.path.abspath(BEFORE), cc) for cc in BEFORE_CC]
    for item in [x for x in os.environ.get("LOSS_EXTRA", "").split(",") if x]:
        label, path = item.split("=", 1)
        path, _, cc = path.partition(":")
        out.append((f"x-{label}", os.path.abspath(path), cc or UCC[0]))
    out += [(f"ustack-{cc}", USTACK, cc) for cc in UCC]
    out += [(f"offload-{cc}", USTACK, cc) for cc in OCC]
    return out


def has_cc_option(binary):
    r = subprocess.run([binary, "serve", "--help"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=30)
    return "--cc" in r.stdout
PCAP = os.environ.get("LOSS_PCAP")
ONLY = [x for x in os.environ.get("LOSS_CASES", "").split(",") if x]
PREFIX = "tcploss-"
NS_C, NS_R, NS_S = PREFIX + "c", PREFIX + "r", PREFIX + "s"
PORT = 5201
KERNEL_IP = "10.216.3.2"


def log(msg):
    print(f"loss: {msg}", flush=True)


def sh(*args, check=True, timeout=30):
    return subprocess.run(list(args), check=check, timeout=timeout, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True)


def nx(ns, *args):
    return ["ip", "netns", "exec", ns, *args]


def del_ns(ns):
    subprocess.run(["ip", "netns", "del", ns], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)


def our_namespaces():
    r = subprocess.run(["ip", "netns", "list"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                       timeout=30)
    return [line.split()[0] for line in r.stdout.splitlines() if line.startswith(PREFIX)]


def new_ns(ns):
    del_ns(ns)
    sh("ip", "netns", "add", ns)
    sh(*nx(ns, "ip", "link", "set", "lo", "up"))


def no_offloads(ns, dev):
    # One drop = one MTU-sized packet: no segmentation or coalescing anywhere.
    sh(*nx(ns, "ethtool", "-K", dev, "tso", "off", "gso", "off", "gro", "off"), check=False)
    out = sh(*nx(ns, "ethtool", "-k", dev), check=False).stdout
    on = [k for k in ("tcp-segmentation-offload", "generic-segmentation-offload", "generic-receive-offload")
          if re.search(rf"^{k}: on", out, re.M)]
    if on:
        raise RuntimeError(f"{ns}/{dev}: cannot turn off {', '.join(on)}")


def veth(ns_a, a, ip_a, ns_b, b, ip_b):
    sh(*nx(ns_a, "ip", "link", "add", a, "type", "veth", "peer", "name", b, "netns", ns_b))
    sh(*nx(ns_a, "ip", "addr", "add", ip_a, "dev", a))
    sh(*nx(ns_b, "ip", "addr", "add", ip_b, "dev", b))
    for ns, d in ((ns_a, a), (ns_b, b)):
        no_offloads(ns, d)
        sh(*nx(ns, "ip", "link", "set", d, "up"))


def set_loss(pct):
    """The router drops pct% of forwarded TCP packets, each way (per mille steps)."""
    sh(*nx(NS_R, "nft", "flush", "ruleset"))
    if pct <= 0:
        return
    permille = int(round(pct * 10))
    rules = ("table inet tcploss {\n"
             "  chain forward_drop {\n"
             "    type filter hook forward priority 0; policy accept;\n"
             f"    meta l4proto tcp numgen random mod 1000 < {permille} counter drop\n"
             "  }\n"
             "}\n")
    r = subprocess.run(nx(NS_R, "nft", "-f", "-"), input=rules, text=True, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    if r.returncode:
        raise RuntimeError(f"nft: {r.stderr.strip()}")


def nft_drops():
    out = sh(*nx(NS_R, "nft", "list", "ruleset"), check=False).stdout
    m = re.search(r"counter packets (\d+)", out)
    return int(m.group(1)) if m else 0


class Servers:
    def __init__(self):
        self.procs = {}
        self.ips = {}
        self.logs = {}
        self.notes = []
        self.extra_ns = []

    def setup(self):
        for ns in (NS_C, NS_R, NS_S):
            new_ns(ns)
        sh(*nx(NS_R, "sysctl", "-qw", "net.ipv4.ip_forward=1"))
        veth(NS_C, "tlc0", "10.216.1.1/24", NS_R, "tlr0", "10.216.1.254/24")
        veth(NS_R, "tlr1", "10.216.3.1/24", NS_S, "tls0", "10.216.3.2/24")
        sh(*nx(NS_C, "ip", "route", "add", "default", "via", "10.216.1.254"))
        sh(*nx(NS_S, "ip", "route", "add", "default", "via", "10.216.3.1"))
        os.makedirs(os.path.join(OUT, "logs"), exist_ok=True)
        # The kernel's server.
        self.ips["kernel"] = KERNEL_IP
        self.procs["kernel"] = subprocess.Popen(nx(NS_S, "taskset", "-c", SCPU, "iperf3", "-s", "-p", str(PORT)),
                                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # ustack, one per congestion control, each on its own TAP in the
        # router; an offload-CC server's TAP in a namespace of its own that
        # forwards to the router over a veth (10.216.(100+net).0/24).
        for i, (name, binary, cc) in enumerate(ustack_servers()):
            net = 10 + i
            ccopt = ["--cc", cc] if has_cc_option(binary) else []
            if not ccopt:
                self.notes.append(f"{name}: {binary} has no --cc option: its default congestion control")
            ip = f"10.216.{net}.2"
            ns, offload = NS_R, name.startswith("offload-")
            if offload:
                ns = f"{PREFIX}u{i}"
                new_ns(ns)
                self.extra_ns.append(ns)
                sh(*nx(ns, "sysctl", "-qw", "net.ipv4.ip_forward=1"))
                veth(NS_R, f"tlw{i}", f"10.216.{100 + net}.1/24", ns, f"tlv{i}", f"10.216.{100 + net}.2/24")
                sh(*nx(NS_R, "ip", "route", "add", f"10.216.{net}.0/24", "via", f"10.216.{100 + net}.2"))
                sh(*nx(ns, "ip", "route", "add", "default", "via", f"10.216.{100 + net}.1"))
            path = os.path.join(OUT, "logs", f"loss-{name}{'-' + TAG if TAG else ''}.log")
            self.logs[name] = path
            with open(path, "w") as lf:
                self.procs[name] = subprocess.Popen(
                    nx(ns, "taskset", "-c", SCPU, binary, "serve", "--tap", f"tlu{i}", "--ip", f"{ip}/24",
                       "--host-ip", f"10.216.{net}.1/24", "--gateway", f"10.216.{net}.1",
                       *([] if offload else ["--no-offload"]), *ccopt, "--iperf3", str(PORT),
                       *(["--pcap", os.path.join(PCAP, f"{name}.pcap")] if PCAP else [])),
                    stdout=lf, stderr=subprocess.STDOUT)
            deadline = time.time() + 10
            while time.time() < deadline:
                with open(path) as f:
                    if "ready" in f.read():
                        break
                if self.procs[name].poll() is not None:
                    raise RuntimeError(f"{name} exited at start (see {path})")
                time.sleep(0.05)
            else:
                raise RuntimeError(f"{name} not ready (see {path})")
            if not offload:
                no_offloads(NS_R, f"tlu{i}")
            self.ips[name] = ip
        # Everyone answers (ARP, listeners) before the first run.
        for name, ip in self.ips.items():
            for _ in range(100):
                if sh(*nx(NS_C, "ping", "-c", "1", "-W", "1", ip), check=False).returncode == 0:
                    break
                time.sleep(0.1)
            else:
                raise RuntimeError(f"{name} at {ip} does not answer ping")
        self.notes.append("the kernel's congestion control is set per run with iperf3 -C (both ends); "
                          "the sender's, as iperf3 reports it, is checked against it")

    def teardown(self):
        for name, p in self.procs.items():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
            if name != "kernel" and p.returncode not in (0, None, -signal.SIGTERM):
                self.notes.append(f"{name} exited with {p.returncode} (see {self.logs[name]})")
        for ns in (NS_C, NS_R, NS_S, *self.extra_ns):
            del_ns(ns)


def proc_cpu(pid):
    """utime+stime of a process, seconds (None if gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def iperf3(ip, reverse, kcc, server_pid=None):
    # The kernel's end uses kcc whether it sends or receives (iperf3 passes
    # -C on to its server). A namespace's default may only be one of
    # net.ipv4.tcp_allowed_congestion_control; -C (TCP_CONGESTION, as root)
    # takes any: the JSON's sender_tcp_congestion shows which was used.
    for ns in (NS_C, NS_S):
        sh(*nx(ns, "sysctl", "-qw", f"net.ipv4.tcp_congestion_control={kcc}"), check=False)
    argv = ["iperf3", "-c", ip, "-p", str(PORT), "-t", str(SECS), "-J", "-C", kcc, *(["-R"] if reverse else [])]
    d0 = nft_drops()
    c0 = proc_cpu(server_pid) if server_pid else None
    try:
        r = subprocess.run(nx(NS_C, "taskset", "-c", CCPU, *argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=SECS + 60)
    except subprocess.TimeoutExpired:
        return {"error": "timed out"}
    drops = nft_drops() - d0
    c1 = proc_cpu(server_pid) if server_pid else None
    try:
        j = json.loads(r.stdout)
    except ValueError:
        return {"error": (r.stderr or r.stdout).strip()[-300:] or f"exit {r.returncode}"}
    if "error" in j:
        return {"error": j["error"]}
    rec, snt = j["end"]["sum_received"], j["end"]["sum_sent"]
    d = {"gbps": round(rec["bits_per_second"] / 1e9, 4), "bytes": rec["bytes"], "retransmits": snt.get("retransmits"),
         "router_drops": drops}
    if c0 is not None and c1 is not None:
        d["server_cpu_s"] = round(c1 - c0, 3)
    for k in ("sender_tcp_congestion", "receiver_tcp_congestion"):
        if k in j["end"]:
            d[k] = j["end"][k]
    return d


def check_cc(d, key, kcc):
    """The kernel end really used kcc (iperf3's report of the sender's, when the kernel sent)."""
    sender_is_kernel = key.startswith("kernel")
    got = d.get("sender_tcp_congestion") if sender_is_kernel else None
    if sender_is_kernel and got and got != kcc:
        d["error"] = f"kernel sender used {got}, not {kcc}"


def cases():
    """(key, server, direction, kernel cc, label). direction: who sends."""
    out = []
    for kcc in KCC:
        out.append((f"kernel-{kcc}:send", "kernel", False, kcc, f"kernel {kcc} → kernel"))
    def who(name, cc=None):
        base = "ustack" + (f" {cc}" if cc else "")
        if name.startswith("before"):
            return "before: " + base
        if name.startswith("x-"):
            return f"{name[2:]}: " + base
        if name.startswith("offload-"):
            return base + " (offloads, own ns)"
        return base

    for name, _, cc in ustack_servers():
        out.append((f"{name}:recv", name, True, KCC[0], f"{who(name, cc)} → kernel"))
    # As a receiver ustack's congestion control plays no part: the first of
    # each binary.
    receivers, seen = [], set()
    for name, path, _ in ustack_servers():
        if path not in seen or name.startswith(("x-", "offload-")):
            seen.add(path)
            receivers.append(name)
    for r in receivers:
        for kcc in KCC:
            out.append((f"kernel-{kcc}:into-{r}", r, False, kcc, f"kernel {kcc} → {who(r)}"))
    for kcc in KCC:
        out.append((f"kernel-{kcc}:recv", "kernel", True, kcc, f"kernel {kcc} → kernel (-R)"))
    if ONLY:
        out = [c for c in out if any(w in c[0] for w in ONLY)]
    return out


def fmt_cell(m, n):
    if not m:
        return "fail"
    s = f"{m['gbps']:.3f}" if m["gbps"] < 1 else f"{m['gbps']:.2f}"
    if m["ok_runs"] < n:
        s += f" ({m['ok_runs']}/{n} ok)"
    return s


def median_of(runs):
    good = [r for r in runs if "error" not in r]
    if not good:
        return None
    return {"gbps": statistics.median(r["gbps"] for r in good),
            "retransmits": statistics.median(r.get("retransmits") or 0 for r in good),
            "router_drops": statistics.median(r.get("router_drops") or 0 for r in good),
            "ok_runs": len(good)}


def verdict(res):
    """ustack (its first congestion control) against the kernel's BBR, each way, from the same run:
    ustack sending against the kernel sending in the same direction (-R), and the kernel's BBR
    sending into ustack against it sending into the kernel."""
    if "bbr" not in KCC or not UCC:
        return []
    pairs = [(f"ustack-{UCC[0]}:recv", "kernel-bbr:recv", f"ustack {UCC[0]} sends / kernel bbr sends (-R)"),
             ("kernel-bbr:into-ustack-" + UCC[0], "kernel-bbr:send", "kernel bbr into ustack / into the kernel")]
    for cc in OCC:
        pairs += [(f"offload-{cc}:recv", "kernel-bbr:recv", f"ustack {cc} (offloads, own ns) sends / kernel bbr "
                   "sends"),
                  (f"kernel-bbr:into-offload-{cc}", "kernel-bbr:send", f"kernel bbr into ustack (offloads, own ns) "
                   "/ into the kernel")]
    keys = {c[0] for c in res["cases"]}
    pairs = [p for p in pairs if p[0] in keys and p[1] in keys]
    if not pairs:
        return []
    out = ["", "ustack against the kernel's BBR, each way (ratio of the medians above; 1.00 or more: at or "
           "above the kernel):", "", "| loss | " + " | ".join(p[2] for p in pairs) + " |",
           "|" + "---|" * (len(pairs) + 1)]
    for rate in res["rates"]:
        row = [f"{rate:g}%"]
        for a, b, _ in pairs:
            ma, mb = (res["results"][f"{rate:g}"][k]["median"] for k in (a, b))
            row.append(f"{ma['gbps'] / mb['gbps']:.2f}" if ma and mb and mb["gbps"] > 0 else "-")
        out.append("| " + " | ".join(row) + " |")
    return out


def report(res):
    cs = res["cases"]
    lines = [f"- Machine: {res['machine']}, {res['date']} (load average at start {res['load_start']}, "
             f"at end {res.get('load_end', '?')})",
             f"- Each figure: median of {res['runs']} interleaved iperf3 runs of {res['secs']} s, Gbit/s "
             f"(iperf3's receiver figure); server on CPU {SCPU}, client on CPU {CCPU}.",
             "- Path: client ns → router ns (forwards; nftables drops the given share of forwarded TCP packets "
             "each way, in the forward hook) → kernel iperf3 server over veth, or `ustack serve --iperf3 "
             "--no-offload` on a TAP; offloads (TSO, GSO, GRO) off on every veth and TAP."
             + (" \"(offloads, own ns)\": `ustack serve --iperf3` with its TAP offloads on, in a namespace of "
                "its own that forwards to the router over a veth, as the kernel's server sits (the kernel cuts "
                "both senders' 64 KB packets on that veth, before the router; one forwarding hop more than the "
                "kernel's server, between that veth and the TAP)." if OCC else ""),
             *[f"- {n}" for n in res["notes"]], ""]
    head = ["loss each way", *[c[4] for c in cs]]
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "---|" * len(head))
    for rate in res["rates"]:
        row = [f"{rate:g}%"]
        for c in cs:
            row.append(fmt_cell(res["results"][f"{rate:g}"][c[0]]["median"], res["runs"]))
        lines.append("| " + " | ".join(row) + " |")
    lines += verdict(res)
    lines.append("")
    lines.append("Sender retransmissions (median; the kernel's counter, or ustack's RetransSegs for its "
                 "connection) and packets the router dropped (median), per case:")
    lines.append("")
    lines.append("| loss | " + " | ".join(c[4] for c in cs) + " |")
    lines.append("|" + "---|" * (len(cs) + 1))
    for rate in res["rates"]:
        row = [f"{rate:g}%"]
        for c in cs:
            m = res["results"][f"{rate:g}"][c[0]]["median"]
            row.append("-" if not m else f"{m['retransmits']:.0f} / {m['router_drops']:.0f}")
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def plot(res, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("python3-matplotlib missing: no plot")
        return
    cs = res["cases"]
    fig, axes = plt.subplots(1, 2, figsize=(13, 5), sharey=True)
    groups = [("client → server (send)", lambda c: not c[2]), ("server → client (iperf3 -R)", lambda c: c[2])]
    xs = list(range(len(res["rates"])))
    for ax, (title, pick) in zip(axes, groups):
        any_pos = False
        for c in cs:
            if not pick(c):
                continue
            ys = []
            for rate in res["rates"]:
                m = res["results"][f"{rate:g}"][c[0]]["median"]
                ys.append(m["gbps"] if m and m["gbps"] > 0 else float("nan"))
            style = "--" if c[1] == "kernel" else (":" if c[1].startswith("before") else "-")
            ax.plot(xs, ys, style, marker="o", label=c[4])
            any_pos = any_pos or any(y == y for y in ys)
        ax.set_xticks(xs)
        ax.set_xticklabels([f"{r:g}%" for r in res["rates"]])
        ax.set_xlabel("packets dropped each way")
        if any_pos:
            ax.set_yscale("log")
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    axes[0].set_ylabel("Gbit/s (median)")
    fig.suptitle(f"TCP through a lossy router: {res['machine']}, {res['date']}, median of {res['runs']}",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def machine():
    model = "?"
    try:
        m = re.search(r"^Model name:\s*(.*)$", sh("lscpu").stdout, re.M)
        model = m.group(1).strip() if m else model
    except (OSError, subprocess.SubprocessError):
        pass
    return f"{model}, {os.cpu_count()} CPUs, Linux {platform.release()}"


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def main():
    if os.geteuid() != 0:
        print("loss: needs root (network namespaces, TAP devices, nftables)", file=sys.stderr)
        return 1
    for _, b, _ in ustack_servers():
        if not os.access(b, os.X_OK):
            print(f"loss: {b} missing (run make)", file=sys.stderr)
            return 1
    avail = open("/proc/sys/net/ipv4/tcp_available_congestion_control").read().split()
    for cc in KCC:
        if cc not in avail:
            print(f"loss: the kernel has no {cc} congestion control (available: {' '.join(avail)})",
                  file=sys.stderr)
            return 1
    for ns in our_namespaces():
        del_ns(ns)
    res = {"machine": machine(), "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
           "load_start": loadavg(), "runs": RUNS, "secs": SECS, "rates": RATES, "cases": cases(), "results": {},
           "notes": []}
    srv = Servers()

    def on_term(sig, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    t0 = time.time()
    failed = False
    try:
        srv.setup()
        for rate in RATES:
            set_loss(rate)
            rr = res["results"][f"{rate:g}"] = {c[0]: {"runs": []} for c in res["cases"]}
            for i in range(RUNS):
                for key, server, reverse, kcc, label in res["cases"]:
                    pid = srv.procs[server].pid if server != "kernel" else None
                    d = iperf3(srv.ips[server], reverse, kcc, pid)
                    check_cc(d, key, kcc)
                    rr[key]["runs"].append(d)
                    short = {k: d[k] for k in ("gbps", "retransmits", "router_drops", "server_cpu_s", "error") if k in d}
                    log(f"{rate:g}% run {i + 1}/{RUNS} {label}: {short}")
            for c in res["cases"]:
                rr[c[0]]["median"] = median_of(rr[c[0]]["runs"])
    except KeyboardInterrupt:
        failed = True
        log("interrupted")
    except (RuntimeError, subprocess.SubprocessError, OSError) as e:
        failed = True
        res["error"] = str(e)
        log(f"FAILED: {e}")
    finally:
        srv.teardown()
        for ns in our_namespaces():
            del_ns(ns)
    res["notes"] = srv.notes
    res["load_end"] = loadavg()
    res["elapsed_s"] = round(time.time() - t0, 1)
    base = os.path.join(OUT, "loss" + (f"-{TAG}" if TAG else ""))
    for rate in RATES:   # cases never run (interrupted) have no median
        for c in res["cases"]:
            res["results"].setdefault(f"{rate:g}", {}).setdefault(c[0], {"runs": []}).setdefault("median", None)
    os.makedirs(OUT, exist_ok=True)
    with open(base + ".json", "w") as f:
        json.dump(res, f, indent=1)
    md = report(res)
    with open(base + ".md", "w") as f:
        f.write(md)
    plot(res, base + ".png")
    print()
    print(md)
    log(f"{res['elapsed_s']} s; {base}.{{json,md,png}}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
