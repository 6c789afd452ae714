"""The AF_XDP / AF_PACKET section of `make bench` (called from bench/bench.py).

ustack over TAP without offloads, over AF_PACKET and over AF_XDP on one end
of a veth pair, beside the kernel's own stack on that same veth end:

  udp64     64-byte UDP echo, datagrams per second (bench/udpecho.c, 64 in flight)
  rr1       1-byte TCP request/response, transactions per second (bench/rr.c)
  bulk_in   bulk TCP into the server (rr send -> discard), Gbit/s
  bulk_out  bulk TCP out of the server (rr recv <- source), Gbit/s

and callgrind's instructions per received byte for bulk receive into
ustack's discard service, reading with us_recv (copy) and in place
(US_TCP_RECV_INPLACE, us_recv_zc: zero copy), over AF_XDP and over TAP with
offloads.

The server (ustack, or the kernel's echo/discard/source programs) is pinned
to BENCH_SERVER_CPU, the clients to BENCH_CLIENT_CPU. The kernel client's
end of the veth computes its own checksums (ethtool -K tx off) for every
veth row, kernel included: AF_XDP sees frames before anything finishes an
offloaded checksum, as a NIC would deliver them. Namespaces: afxdp-bench-* (BENCH_AFXDP_NS
sets another prefix).
"""
import json
import os
import re
import signal
import statistics
import subprocess
import time

NS = os.environ.get("BENCH_AFXDP_NS", "afxdp-bench-")   # a prefix of our own: runs side by side
SNS, CNS, TNS = NS + "s", NS + "c", NS + "tap"
SDEV, CDEV = "afxb0", "afxb1"
SIP, CIP = "10.220.2.2", "10.220.2.1"
TAP_IP, TAP_HOST = "10.220.1.2", "10.220.1.1"
P_ECHO, P_DISCARD, P_SOURCE = 7, 9, 19
ALL_TARGETS = ["tap-plain", "af-packet", "af-xdp", "af-xdp-busy", "kernel-veth"]
ALL_WORKLOADS = ["udp64", "rr1", "bulk_in", "bulk_out"]
TARGETS = [t for t in os.environ.get("BENCH_AFXDP_TARGETS", ",".join(ALL_TARGETS)).split(",") if t]
WORKLOADS = [w for w in os.environ.get("BENCH_AFXDP_WORKLOADS", ",".join(ALL_WORKLOADS)).split(",") if w]
UDP_WINDOW = os.environ.get("BENCH_UDP_WINDOW", "256")


def sh(*a, check=True, timeout=60, **kw):
    return subprocess.run(list(a), check=check, timeout=timeout, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, **kw)


def nsx(ns, *a):
    return ["ip", "netns", "exec", ns, *a]


def del_ns(ns):
    r = sh("ip", "netns", "pids", ns, check=False)
    for p in r.stdout.split():
        try:
            os.kill(int(p), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass
    sh("ip", "netns", "del", ns, check=False)


def new_ns(ns):
    del_ns(ns)
    sh("ip", "netns", "add", ns)
    sh(*nsx(ns, "ip", "link", "set", "lo", "up"))


def proc_cpu(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            v = f.read().rsplit(")", 1)[1].split()
        return (int(v[11]) + int(v[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


class Bench:
    def __init__(self, out, runs, secs, ustack, rr, udpecho, log, scpu, ccpu):
        self.out, self.runs, self.secs = out, runs, secs
        self.ustack, self.rr, self.udpecho, self.log = ustack, rr, udpecho, log
        self.scpu, self.ccpu = scpu, ccpu
        self.procs = []

    # ---- set-up ----
    def veth(self):
        new_ns(SNS)
        new_ns(CNS)
        sh(*nsx(CNS, "ip", "link", "add", CDEV, "type", "veth", "peer", "name", SDEV, "netns", SNS))
        sh(*nsx(CNS, "ip", "addr", "add", f"{CIP}/24", "dev", CDEV))
        sh(*nsx(CNS, "ip", "link", "set", CDEV, "up"))
        sh(*nsx(SNS, "ip", "link", "set", SDEV, "up"))
        sh(*nsx(CNS, "ethtool", "-K", CDEV, "tx", "off"))

    def start(self, ns, argv, ready, logname):
        logpath = os.path.join(self.out, "logs", f"afxdp-{logname}.log")
        logf = open(logpath, "w")
        p = subprocess.Popen(nsx(ns, "taskset", "-c", self.scpu, *argv), stdout=logf, stderr=subprocess.STDOUT)
        logf.close()
        self.procs.append(p)
        deadline = time.time() + 15
        while time.time() < deadline:
            with open(logpath) as f:
                text = f.read()
            if ready in text:
                return p, text
            if p.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"{logname}: server did not become ready (see {logpath})")

    def stop_all(self):
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(15)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        self.procs = []

    def client(self, ns, argv, timeout):
        try:
            return sh(*nsx(ns, "taskset", "-c", self.ccpu, *argv), check=False, timeout=timeout)
        except subprocess.TimeoutExpired:
            return subprocess.CompletedProcess(argv, -1, "", "timed out")

    def target_up(self, name):
        """Starts the server of a target; returns (client ns, server ip, server pid, notes)."""
        services = ["--udp-echo", str(P_ECHO), "--tcp-echo", str(P_ECHO), "--discard", str(P_DISCARD),
                    "--source", str(P_SOURCE)]
        if name == "tap-plain":
            new_ns(TNS)
            p, text = self.start(TNS, [self.ustack, "serve", "--tap", "afxbt0", "--no-offload", "--ip",
                                       f"{TAP_IP}/24", "--host-ip", f"{TAP_HOST}/24", *services], "ready", name)
            return TNS, TAP_IP, p, [text.strip().splitlines()[-1]]
        if name == "kernel-veth":
            sh(*nsx(SNS, "ip", "addr", "add", f"{SIP}/24", "dev", SDEV))
            p, _ = self.start(SNS, [self.udpecho, "server", str(P_ECHO)], "ready", name + "-udp")
            p2, _ = self.start(SNS, [self.rr, "server", str(P_ECHO), str(P_DISCARD), str(P_SOURCE)], "ready",
                               name + "-tcp")
            return CNS, SIP, p, ["the kernel's stack on the same veth end: udpecho (recvmmsg/sendmmsg) and rr "
                                 "servers, one thread each, pinned like ustack"], p2
        dev = ["--af-packet", SDEV] if name == "af-packet" else ["--xdp", SDEV]
        extra = ["--busy-poll", "50"] if name.endswith("busy") else []
        p, text = self.start(SNS, [self.ustack, "serve", *dev, "--ip", f"{SIP}/24", *services, *extra], "ready",
                             name)
        return CNS, SIP, p, [l for l in text.strip().splitlines() if "ready" in l]

    # ---- workloads ----
    def workload(self, w, ns, ip, pids):
        c0 = [proc_cpu(p) for p in pids]
        if w == "udp64":
            r = self.client(ns, [self.udpecho, "client", ip, str(P_ECHO), "64", str(self.secs), UDP_WINDOW], self.secs + 30)
        elif w == "rr1":
            r = self.client(ns, [self.rr, "rr", ip, str(P_ECHO), "1", str(self.secs)], self.secs + 30)
        elif w == "bulk_in":
            r = self.client(ns, [self.rr, "send", ip, str(P_DISCARD), str(self.secs)], self.secs + 30)
        else:
            r = self.client(ns, [self.rr, "recv", ip, str(P_SOURCE), str(self.secs)], self.secs + 30)
        c1 = [proc_cpu(p) for p in pids]
        try:
            d = json.loads(r.stdout.strip().splitlines()[-1])
        except (IndexError, ValueError):
            d = {"error": (r.stderr or r.stdout).strip()[-300:] or f"exit {r.returncode}"}
        if r.returncode != 0 and "error" not in d:
            d["error"] = f"exit {r.returncode}: {r.stderr.strip()[-200:]}"
        if None not in c0 and None not in c1:
            d["server_cpu_s"] = round(sum(c1) - sum(c0), 4)
        return d

    def run_targets(self):
        res = {}
        self.veth()
        for name in TARGETS:
            tr = {"notes": []}
            res[name] = tr
            try:
                up = self.target_up(name)
                ns, ip, p, notes = up[:4]
                pids = [p.pid] + ([up[4].pid] if len(up) > 4 else [])
                tr["notes"] += notes
                # the server answers (ARP, listeners)
                for _ in range(50):
                    if self.client(ns, [self.rr, "rr", ip, str(P_ECHO), "1", "0.01"], 30).returncode == 0:
                        break
                    time.sleep(0.1)
                runs = {w: [] for w in WORKLOADS}
                for i in range(self.runs):
                    for w in WORKLOADS:
                        d = self.workload(w, ns, ip, pids)
                        runs[w].append(d)
                        short = {k: d[k] for k in ("pps", "tps", "gbps", "error") if k in d}
                        self.log(f"afxdp {name} run {i + 1}/{self.runs} {w}: {short}")
                for w, rs in runs.items():
                    tr[w] = {"runs": rs, "median": median_of(rs)}
            except (RuntimeError, subprocess.SubprocessError, OSError) as e:
                tr["error"] = str(e)
                self.log(f"afxdp {name}: FAILED: {e}")
            finally:
                self.stop_all()
                if name == "tap-plain":
                    del_ns(TNS)
        del_ns(SNS)
        del_ns(CNS)
        return res

    # ---- callgrind: instructions per received byte ----
    def callgrind(self, mb):
        out = {"bytes": mb << 20, "rows": {}}
        for dev in ("af-xdp", "tap-offload"):
            for svc in ("idle", "discard", "discard-zc"):
                key = f"{dev} {svc}"
                try:
                    ir, segs = self.cg_one(dev, svc, mb)
                    out["rows"][key] = {"ir": ir, "in_segs": segs}
                    self.log(f"afxdp callgrind {key}: {ir} instructions, {segs} segments in")
                except (RuntimeError, subprocess.SubprocessError, OSError) as e:
                    out["rows"][key] = {"error": str(e)}
                    self.log(f"afxdp callgrind {key}: FAILED: {e}")
        for dev in ("af-xdp", "tap-offload"):
            idle = out["rows"].get(f"{dev} idle", {}).get("ir")
            for svc in ("discard", "discard-zc"):
                r = out["rows"].get(f"{dev} {svc}", {})
                if idle is not None and "ir" in r:
                    r["ir_per_byte"] = round((r["ir"] - idle) / out["bytes"], 3)
            a = out["rows"].get(f"{dev} discard", {}).get("ir_per_byte")
            b = out["rows"].get(f"{dev} discard-zc", {}).get("ir_per_byte")
            if a and b:
                out[f"{dev} cut"] = round(1 - b / a, 4)
        return out

    def cg_one(self, dev, svc, mb):
        cgout = os.path.join(self.out, "logs", f"afxdp-cg-{dev}-{svc}.out")
        base = [self.ustack, "serve", "--ip"]
        port = ["--" + (svc if svc != "idle" else "discard"), str(P_DISCARD)]
        if dev == "af-xdp":
            self.veth()
            ns, cns, ip = SNS, CNS, SIP
            argv = [*base, f"{SIP}/24", "--xdp", SDEV, *port]
        else:
            new_ns(TNS)
            ns = cns = TNS
            ip = TAP_IP
            argv = [*base, f"{TAP_IP}/24", "--tap", "afxbt0", "--host-ip", f"{TAP_HOST}/24", *port]
        try:
            p, _ = self.start(ns, ["valgrind", "--tool=callgrind", f"--callgrind-out-file={cgout}", *argv], "ready",
                              f"cg-{dev}-{svc}")
            if svc != "idle":
                r = subprocess.run(f"head -c {mb << 20} /dev/zero | ip netns exec {cns} taskset -c {self.ccpu} "
                                   f"timeout 300 nc -N {ip} {P_DISCARD}", shell=True, timeout=330,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                if r.returncode != 0:
                    raise RuntimeError(f"nc exit {r.returncode}: {r.stderr.strip()[-200:]}")
            p.send_signal(signal.SIGINT)
            p.wait(120)
            logpath = os.path.join(self.out, "logs", f"afxdp-cg-{dev}-{svc}.log")
            with open(logpath) as f:
                text = f.read()
            m = re.search(r"I\s+refs:\s+([\d,]+)", text)
            if not m:
                raise RuntimeError(f"no callgrind total in {logpath}")
            segs = re.findall(r"^\s+InSegs\s+(\d+)", text, re.M)
            return int(m.group(1).replace(",", "")), int(segs[-1]) if segs else None
        finally:
            self.stop_all()
            del_ns(ns)
            if ns != cns:
                del_ns(cns)


def median_of(runs):
    good = [r for r in runs if "error" not in r]
    if not good:
        return {"error": runs[-1].get("error", "no run") if runs else "no run"}
    m = {}
    for k, v in good[0].items():
        if isinstance(v, (int, float)):
            vals = [r[k] for r in good if isinstance(r.get(k), (int, float))]
            m[k] = statistics.median(vals)
    return m


def fmt_cell(tr, w):
    if "error" in tr:
        return "failed"
    d = tr.get(w, {}).get("median", {})
    if "error" in d:
        return "failed"
    if w == "udp64":
        # echoes per second of the server's own CPU time (user and system, its
        # threads; softirq work the kernel does elsewhere is not in it): on a
        # shared machine the rate follows the CPU share a run got, this less
        eff = [r["echoes"] / r["server_cpu_s"] for r in tr[w]["runs"] if r.get("server_cpu_s") and "echoes" in r]
        return f"{d.get('pps', 0):,.0f}/s" + (f" ({statistics.median(eff) / 1000:,.0f}k/CPU-s)" if eff else "")
    if w == "rr1":
        return f"{d.get('tps', 0):,.0f}/s"
    return f"{d.get('gbps', 0):.2f} Gbit/s"


def table(res):
    names = {"udp64": "64-byte UDP echo", "rr1": "1-byte TCP RR", "bulk_in": "bulk TCP in", "bulk_out": "bulk TCP out"}
    lines = ["| target | " + " | ".join(names[w] for w in WORKLOADS) + " |", "|---" * (len(WORKLOADS) + 1) + "|"]
    for name in TARGETS:
        tr = res["targets"].get(name, {})
        if not tr:
            continue
        lines.append(f"| {name} | " + " | ".join(fmt_cell(tr, w) for w in WORKLOADS) + " |")
    t = res["targets"]
    try:
        x = t["af-xdp"]["udp64"]["median"]["pps"]
        lines.append("")
        lines.append(f"AF_XDP 64-byte UDP echo: {x / t['tap-plain']['udp64']['median']['pps']:.2f}x TAP without "
                     f"offloads, {x / t['kernel-veth']['udp64']['median']['pps']:.2f}x the kernel over the same veth"
                     + (f"; with --busy-poll 50: {t['af-xdp-busy']['udp64']['median']['pps'] / t['tap-plain']['udp64']['median']['pps']:.2f}x TAP, "
                        f"{t['af-xdp-busy']['udp64']['median']['pps'] / t['kernel-veth']['udp64']['median']['pps']:.2f}x the kernel"
                        if "pps" in t.get("af-xdp-busy", {}).get("udp64", {}).get("median", {}) else ""))
    except (KeyError, ZeroDivisionError, TypeError):
        pass
    cg = res.get("callgrind", {})
    if cg.get("rows"):
        lines += ["", f"callgrind, bulk receive of {cg['bytes'] >> 20} MiB into ustack's discard service "
                      "(instructions of the whole ustack process, less an idle run's, per byte received):", "",
                  "| device | us_recv (copy) | in place (zero copy) | cut |", "|---|---|---|---|"]
        for dev in ("af-xdp", "tap-offload"):
            a = cg["rows"].get(f"{dev} discard", {}).get("ir_per_byte")
            b = cg["rows"].get(f"{dev} discard-zc", {}).get("ir_per_byte")
            cut = cg.get(f"{dev} cut")
            lines.append(f"| {dev} | {a if a is not None else 'failed'} | {b if b is not None else 'failed'} | "
                         f"{f'{cut * 100:.1f}%' if cut is not None else '-'} |")
    return "\n".join(lines)


def run(out, runs, secs, ustack, rr, udpecho, log, scpu="1", ccpu="0", cg_mb=100):
    os.makedirs(os.path.join(out, "logs"), exist_ok=True)
    b = Bench(out, runs, secs, ustack, rr, udpecho, log, scpu, ccpu)
    with open("/proc/loadavg") as f:
        load0 = " ".join(f.read().split()[:3])
    res = {"config": {"runs": runs, "secs": secs, "server_cpu": scpu, "client_cpu": ccpu,
                      "cpus": os.cpu_count(), "loadavg_start": load0,
                      "note": "a shared machine: other engineers' builds and tests ran at the same time; "
                              "compare rows of the same run"}}
    try:
        res["targets"] = b.run_targets()
        if os.environ.get("BENCH_AFXDP_CALLGRIND", "1") != "0":
            res["callgrind"] = b.callgrind(cg_mb)
    finally:
        b.stop_all()
        for ns in (SNS, CNS, TNS):
            del_ns(ns)
    with open("/proc/loadavg") as f:
        res["config"]["loadavg_end"] = " ".join(f.read().split()[:3])
    md = table(res)
    with open(os.path.join(out, "afxdp.json"), "w") as f:
        json.dump(res, f, indent=1)
    with open(os.path.join(out, "afxdp.md"), "w") as f:
        f.write(f"# AF_XDP and AF_PACKET ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPUs, load "
                f"{res['config']['loadavg_start']} -> {res['config']['loadavg_end']}, median of {runs} x {secs:g} s; "
                f"server on CPU {scpu}, clients on CPU {ccpu}; shared machine)\n\n" + md + "\n")
    print()
    print(md)
    return res


if __name__ == "__main__":
    import sys
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    quick = os.environ.get("BENCH_QUICK") == "1"
    r = run(os.path.abspath(os.environ.get("BENCH_OUT", os.path.join(root, "bench", "results"))),
            1 if quick else int(os.environ.get("BENCH_RUNS", "3")),
            1.0 if quick else float(os.environ.get("BENCH_SECS", "3")),
            os.path.abspath(os.environ.get("USTACK", os.path.join(root, "build", "ustack"))),
            os.path.abspath(os.environ.get("RR", os.path.join(root, "build", "bench", "rr"))),
            os.path.abspath(os.environ.get("UDPECHO", os.path.join(root, "build", "bench", "udpecho"))),
            lambda m: print(f"[bench] {m}", file=sys.stderr, flush=True),
            os.environ.get("BENCH_SERVER_CPU", "1"), os.environ.get("BENCH_CLIENT_CPU", "0"),
            20 if quick else 100)
    sys.exit(1 if any("error" in t for t in r.get("targets", {}).values()) else 0)
