#!/usr/bin/python3
"""The `ustack tunnel` section of `make bench` (called from bench/bench.py,
or run alone: /usr/bin/python3 bench/tunnel.py): TCP through a tunnel
between two namespaces joined by a veth (tunnel-srv, tunnel-cli), iperf3
across the inner addresses each way, against wireguard-go (Debian's) in the
same run.

Targets:
  ustack-tunnel        the default: offloads, one worker per CPU
  ustack-tunnel-1w     --workers 1
  ustack-tunnel-plain  --no-offload (one packet per system call, as before)
  wireguard-go         Debian's wireguard-go, configured with wg(8)

Each figure is the median of BENCH_RUNS runs of BENCH_SECS seconds (iperf3
-t), with the CPU time both tunnel processes used per GB moved. Results go
to BENCH_OUT/tunnel.{json,md,png}. Addresses: 10.216.0.0/16 only; devices
tunnel-v0/-v1 (veth), tunnel0 (ustack), wgbench0/1 (wireguard-go).
Environment: BENCH_RUNS (3), BENCH_TUNNEL_SECS (5), BENCH_QUICK=1 (1 run of
2 s), BENCH_TUNNEL_TARGETS (comma list), BENCH_TUNNEL_STREAMS (iperf3 -P, 1).
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NS_S, NS_C = "tunnel-srv", "tunnel-cli"
OUTER_S, OUTER_C = "10.216.0.1", "10.216.0.2"
PORT = 51820
ALL = ["ustack-tunnel", "ustack-tunnel-1w", "ustack-tunnel-plain", "wireguard-go"]
CLK_TCK = os.sysconf("SC_CLK_TCK")


def _log(msg):
    print(f"bench: tunnel: {msg}", flush=True)


def sh(*args, check=True, timeout=30):
    return subprocess.run(list(args), check=check, timeout=timeout, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)


def nsx(ns, *args, check=True, **kw):
    r = sh("ip", "netns", "exec", ns, *args, check=False, **kw)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} in {ns}: exit {r.returncode}: {r.stderr.strip()[-200:]}")
    return r


def cpu_s(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            parts = f.read().rsplit(")", 1)[1].split()
        return (int(parts[11]) + int(parts[12])) / CLK_TCK
    except (OSError, IndexError, ValueError):
        return 0.0


def ns_pids(ns):
    r = sh("ip", "netns", "pids", ns, check=False)
    return [int(p) for p in r.stdout.split()]


def teardown():
    for ns in (NS_S, NS_C):
        for pid in ns_pids(ns):
            try:
                os.kill(pid, 15)
            except OSError:
                pass
    time.sleep(0.5)
    for ns in (NS_S, NS_C):
        for pid in ns_pids(ns):
            try:
                os.kill(pid, 9)
            except OSError:
                pass
        sh("ip", "netns", "del", ns, check=False)


def setup_net():
    teardown()
    for ns in (NS_S, NS_C):
        sh("ip", "netns", "add", ns)
        nsx(ns, "ip", "link", "set", "lo", "up")
    sh("ip", "link", "add", "tunnel-v0", "netns", NS_S, "type", "veth", "peer", "name", "tunnel-v1", "netns", NS_C)
    nsx(NS_S, "ip", "addr", "add", f"{OUTER_S}/24", "dev", "tunnel-v0")
    nsx(NS_C, "ip", "addr", "add", f"{OUTER_C}/24", "dev", "tunnel-v1")
    nsx(NS_S, "ip", "link", "set", "tunnel-v0", "up")
    nsx(NS_C, "ip", "link", "set", "tunnel-v1", "up")


class Target:
    def __init__(self, name, ustack, tmp):
        self.name, self.ustack, self.tmp = name, ustack, tmp
        self.procs = []
        self.inner_s = "10.216.100.1" if name.startswith("ustack") else "10.216.101.1"

    def start(self, ns, args, log):
        f = open(log, "w")
        p = subprocess.Popen(["ip", "netns", "exec", ns] + args, stdout=f, stderr=subprocess.STDOUT)
        self.procs.append(p)
        return p

    def setup(self):
        setup_net()
        if self.name.startswith("ustack"):
            key = os.path.join(self.tmp, "tunnel.key")
            if not os.path.exists(key):
                sh(self.ustack, "tunnel", "genkey", key)
            extra = {"ustack-tunnel-1w": ["--workers", "1"], "ustack-tunnel-plain": ["--no-offload"]}.get(self.name, [])
            self.start(NS_S, [self.ustack, "tunnel", "server", "--listen", f"{OUTER_S}:{PORT}", "--tun", "tunnel0",
                              "--ip", "10.216.100.1/24", "--key", key] + extra, os.path.join(self.tmp, "srv.log"))
            time.sleep(0.5)
            self.start(NS_C, [self.ustack, "tunnel", "client", "--server", f"{OUTER_S}:{PORT}", "--tun", "tunnel0",
                              "--ip", "10.216.100.2/24", "--key", key] + extra, os.path.join(self.tmp, "cli.log"))
            self.pids = [p.pid for p in self.procs]
        else:
            keys = {}
            for side in ("s", "c"):
                priv = sh("wg", "genkey").stdout.strip()
                pub = subprocess.run(["wg", "pubkey"], input=priv, stdout=subprocess.PIPE, text=True,
                                     check=True).stdout.strip()
                path = os.path.join(self.tmp, f"wg-{side}.key")
                with open(path, "w") as f:
                    f.write(priv + "\n")
                os.chmod(path, 0o600)
                keys[side] = (path, pub)
            # (two names: wg(8) finds a wireguard-go by its socket in
            # /var/run/wireguard, which is the same in every namespace)
            for ns, side, other, inner, ep, dev in ((NS_S, "s", "c", "10.216.101.1", None, "wgbench0"),
                                                    (NS_C, "c", "s", "10.216.101.2", f"{OUTER_S}:{PORT}", "wgbench1")):
                env_args = ["env", "WG_PROCESS_FOREGROUND=1", "wireguard-go", "-f", dev]
                self.start(ns, env_args, os.path.join(self.tmp, f"wg-{side}.log"))
                for _ in range(50):
                    if nsx(ns, "ip", "link", "show", dev, check=False).returncode == 0:
                        break
                    time.sleep(0.1)
                cmd = ["wg", "set", dev, "private-key", keys[side][0], "peer", keys[other][1],
                       "allowed-ips", "10.216.101.0/24"]
                if side == "s":
                    cmd[3:3] = ["listen-port", str(PORT)]
                else:
                    cmd += ["endpoint", ep]
                nsx(ns, *cmd)
                nsx(ns, "ip", "addr", "add", f"{inner}/24", "dev", dev)
                nsx(ns, "ip", "link", "set", dev, "up")
            self.pids = [p.pid for p in self.procs]
        # up and answering through the tunnel
        for _ in range(50):
            if nsx(NS_C, "ping", "-c", "1", "-W", "1", self.inner_s, check=False).returncode == 0:
                break
            time.sleep(0.2)
        else:
            raise RuntimeError(f"{self.name}: no ping through the tunnel")
        self.iperf = subprocess.Popen(["ip", "netns", "exec", NS_S, "iperf3", "-s", "-B", self.inner_s],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)

    def run(self, reverse, secs, streams):
        c0 = sum(cpu_s(p) for p in self.pids)
        args = ["iperf3", "-c", self.inner_s, "-t", f"{secs:g}", "-J", "-P", str(streams)] + (["-R"] if reverse else [])
        r = nsx(NS_C, *args, check=False, timeout=secs + 30)
        c1 = sum(cpu_s(p) for p in self.pids)
        try:
            j = json.loads(r.stdout)
            bps = j["end"]["sum_received"]["bits_per_second"]
            nbytes = j["end"]["sum_received"]["bytes"]
            retr = j["end"].get("sum_sent", {}).get("retransmits", 0)
        except (ValueError, KeyError):
            return {"error": (r.stderr or r.stdout)[-300:]}
        return {"gbps": bps / 1e9, "cpu_s_per_gb": (c1 - c0) / (nbytes / 1e9) if nbytes else None,
                "retransmits": retr}

    def teardown(self):
        if getattr(self, "iperf", None):
            self.iperf.terminate()
        for p in self.procs:
            p.terminate()
        for p in self.procs + ([self.iperf] if getattr(self, "iperf", None) else []):
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
        teardown()


def table(res):
    order = [t for t in res["targets_order"] if t in res["targets"]]
    lines = ["| | " + " | ".join(order) + " |", "|---|" + "---|" * len(order)]
    for w, label in (("up", "client→server (iperf3), Gbit/s"), ("down", "server→client (iperf3 -R), Gbit/s")):
        row, cpu = [], []
        for t in order:
            m = (res["targets"][t].get(w) or {}).get("median")
            row.append(f"{m['gbps']:.2f}" if m and m.get("gbps") is not None else "n/a")
            cpu.append(f"{m['cpu_s_per_gb']:.2f}" if m and m.get("cpu_s_per_gb") is not None else "n/a")
        lines.append(f"| {label} | " + " | ".join(row) + " |")
        lines.append("|   both tunnel processes, CPU s/GB | " + " | ".join(cpu) + " |")
    wg = res["targets"].get("wireguard-go", {})
    us = res["targets"].get("ustack-tunnel", {})
    ratio = []
    for w in ("up", "down"):
        a, b = (us.get(w) or {}).get("median"), (wg.get(w) or {}).get("median")
        if a and b and a.get("gbps") and b.get("gbps"):
            ratio.append(f"{w} {a['gbps'] / b['gbps']:.2f}x")
    if ratio:
        lines.append("")
        lines.append("ustack-tunnel / wireguard-go in this run: " + ", ".join(ratio))
    return "\n".join(lines)


def plot(res, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    order = [t for t in res["targets_order"] if t in res["targets"]]
    fig, ax = plt.subplots(figsize=(7.5, 3.6))
    width = 0.38
    for k, (w, label) in enumerate((("up", "client→server"), ("down", "server→client (-R)"))):
        vals = [((res["targets"][t].get(w) or {}).get("median") or {}).get("gbps") or 0 for t in order]
        xs = [i + (k - 0.5) * width for i in range(len(order))]
        bars = ax.bar(xs, vals, width, label=label)
        for b, v in zip(bars, vals):
            ax.text(b.get_x() + b.get_width() / 2, v, f"{v:.2f}", ha="center", va="bottom", fontsize=8)
    ax.set_xticks(range(len(order)))
    ax.set_xticklabels(order, fontsize=8)
    ax.set_ylabel("Gbit/s")
    ax.set_title(f"TCP through the tunnel (iperf3), median of {res['config']['runs']} x {res['config']['secs']:g} s, "
                 f"load {res['loadavg_start']}", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def run(out_dir, runs=None, secs=None, ustack=None, log=_log):
    quick = os.environ.get("BENCH_QUICK") == "1"
    runs = 1 if quick else int(os.environ.get("BENCH_RUNS", runs or 3))
    secs = 2.0 if quick else float(os.environ.get("BENCH_TUNNEL_SECS", "5"))
    streams = int(os.environ.get("BENCH_TUNNEL_STREAMS", "1"))
    ustack = os.path.abspath(ustack or os.environ.get("USTACK", os.path.join(ROOT, "build", "ustack")))
    targets = [t for t in os.environ.get("BENCH_TUNNEL_TARGETS", ",".join(ALL)).split(",") if t]
    if "wireguard-go" in targets and not (shutil.which("wireguard-go") and shutil.which("wg")):
        log("wireguard-go or wg missing (apt-get install wireguard-go wireguard-tools): FAILED")
        return {"error": "wireguard-go missing"}
    with open("/proc/loadavg") as f:
        load0 = " ".join(f.read().split()[:3])
    res = {"config": {"runs": runs, "secs": secs, "streams": streams}, "targets_order": targets, "targets": {},
           "loadavg_start": load0, "cpus": os.cpu_count(),
           "wireguard_go": sh("dpkg-query", "-W", "-f=${Version}", "wireguard-go", check=False).stdout.strip()}
    tmp = tempfile.mkdtemp(prefix="tunnel-bench-")
    try:
        for name in targets:
            t = Target(name, ustack, tmp)
            tr = res["targets"][name] = {}
            log(f"{name}: setting up")
            try:
                t.setup()
                rs = {"up": [], "down": []}
                for i in range(runs):
                    for w in ("up", "down"):
                        d = t.run(w == "down", secs, streams)
                        rs[w].append(d)
                        log(f"{name} run {i + 1}/{runs} {w}: {d}")
                for w in rs:
                    ok = [d for d in rs[w] if "gbps" in d]
                    med = None
                    if ok:
                        g = statistics.median(d["gbps"] for d in ok)
                        c = [d["cpu_s_per_gb"] for d in ok if d.get("cpu_s_per_gb") is not None]
                        med = {"gbps": g, "cpu_s_per_gb": statistics.median(c) if c else None}
                    tr[w] = {"runs": rs[w], "median": med}
            except (RuntimeError, subprocess.SubprocessError, OSError) as e:
                tr["error"] = str(e)
                log(f"{name}: FAILED: {e}")
            finally:
                t.teardown()
    finally:
        teardown()
        shutil.rmtree(tmp, ignore_errors=True)
    with open("/proc/loadavg") as f:
        res["loadavg_end"] = " ".join(f.read().split()[:3])
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "tunnel.json"), "w") as f:
        json.dump(res, f, indent=1)
    hdr = (f"`ustack tunnel` against wireguard-go {res['wireguard_go']}: iperf3 TCP across the inner addresses, "
           f"{streams} stream(s), median of {runs} x {secs:g} s, {res['cpus']} CPUs, load average "
           f"{load0} at the start and {res['loadavg_end']} at the end.")
    with open(os.path.join(out_dir, "tunnel.md"), "w") as f:
        f.write(hdr + "\n\n" + table(res) + "\n")
    plot(res, os.path.join(out_dir, "tunnel.png"))
    print()
    print(hdr)
    print()
    print(table(res))
    print()
    return res


if __name__ == "__main__":
    if os.geteuid() != 0:
        print("bench: tunnel: needs root (network namespaces, TUN devices)", file=sys.stderr)
        sys.exit(1)
    r = run(os.path.abspath(os.environ.get("BENCH_OUT", os.path.join(ROOT, "bench", "results"))))
    sys.exit(1 if "error" in r or any("error" in t for t in r["targets"].values()) else 0)
