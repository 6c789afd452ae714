"""`ustack run` in the benchmark (called from bench.py; alone:
/usr/bin/python3 bench/bench_run.py, as root).

The same unmodified programs, Debian's nginx and iperf3, as servers three
ways, with the kernel's wrk and iperf3 as clients:

  kernel-veth    nginx and iperf3 -s on the kernel, across a veth pair
  ustack-run     nginx and iperf3 -s under `ustack run` on a TAP (the shim:
                 the stack thread and the program's threads share one lock)
  ustack-serve   ustack's own services on a TAP: `serve --http --iperf3`,
                 the same stack driven by its own loop, no shim

so the difference between the last two is the cost of running the stack
under a program it does not own (a second thread, a wakeup from the stack
thread to the program's thread, the lock). Servers on CPU BENCH_SERVER_CPU,
clients on BENCH_CLIENT_CPU; each figure the median of BENCH_RUNS runs of
BENCH_SECS. Writes bench/results/run.{md,json}.
"""
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QUICK = os.environ.get("BENCH_QUICK") == "1"
RUNS = 1 if QUICK else int(os.environ.get("BENCH_RUNS", "3"))
SECS = 1 if QUICK else max(1, int(float(os.environ.get("BENCH_SECS", "3"))))
SCPU = os.environ.get("BENCH_SERVER_CPU", "1")
CCPU = os.environ.get("BENCH_CLIENT_CPU", "0")
OUT = os.path.abspath(os.environ.get("BENCH_OUT", os.path.join(ROOT, "bench", "results")))
USTACK = os.path.abspath(os.environ.get("USTACK", os.path.join(ROOT, "build", "ustack")))
NS = "ust-bench-run-"
WWW = "/tmp/ust-bench-run-www"
TARGETS = ["kernel-veth", "ustack-run", "ustack-serve"]
WRK_CONNS = 16


def log(msg):
    print(f"bench_run: {msg}", flush=True)


def sh(*a, check=True, timeout=30):
    return subprocess.run(list(a), check=check, timeout=timeout, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True)


def nsx(ns, *a):
    return ["ip", "netns", "exec", ns, *a]


def del_ns(ns):
    subprocess.run(["ip", "netns", "del", ns], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)


def new_ns(ns):
    del_ns(ns)
    sh("ip", "netns", "add", ns)
    sh(*nsx(ns, "ip", "link", "set", "lo", "up"))
    for k, v in (("net.ipv4.ip_local_port_range", "1024 65535"), ("net.ipv4.tcp_tw_reuse", "1")):
        sh(*nsx(ns, "sysctl", "-qw", f"{k}={v}"))


def nginx_conf(d, listen):
    os.makedirs(os.path.join(d, "logs"), exist_ok=True)
    with open(os.path.join(d, "nginx.conf"), "w") as f:
        f.write(f"""daemon off;
master_process off;
worker_processes 1;
user root;
error_log {d}/logs/error.log warn;
pid {d}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {d}/cb; proxy_temp_path {d}/px; fastcgi_temp_path {d}/fc;
  uwsgi_temp_path {d}/uw; scgi_temp_path {d}/sc;
  sendfile on;
  keepalive_requests 1000000;
  server {{ listen {listen}; root {WWW}; }}
}}
""")


class Target:
    def __init__(self, name):
        self.name = name
        self.procs = []
        self.ns = []
        self.notes = []
        self.logdir = os.path.join(OUT, "logs", f"run-{name}")
        os.makedirs(self.logdir, exist_ok=True)

    def spawn(self, ns, argv, logname):
        f = open(os.path.join(self.logdir, logname), "w")
        p = subprocess.Popen(nsx(ns, "taskset", "-c", SCPU, *argv), stdout=f, stderr=subprocess.STDOUT)
        f.close()
        self.procs.append(p)
        return p

    def wait_port(self, port):
        for _ in range(100):
            r = subprocess.run(nsx(self.cns, "bash", "-c", f"exec 3<>/dev/tcp/{self.ip}/{port}"),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=10)
            if r.returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError(f"{self.name}: nothing answers on {self.ip}:{port} (logs in {self.logdir})")

    def setup(self):
        n = self.name
        if n == "kernel-veth":
            self.cns, sns = NS + "kc", NS + "ks"
            new_ns(self.cns)
            new_ns(sns)
            self.ns = [self.cns, sns]
            sh(*nsx(self.cns, "ip", "link", "add", "vbr0", "type", "veth", "peer", "name", "vbr1", "netns", sns))
            sh(*nsx(self.cns, "ip", "addr", "add", "10.214.20.1/24", "dev", "vbr0"))
            sh(*nsx(sns, "ip", "addr", "add", "10.214.20.2/24", "dev", "vbr1"))
            sh(*nsx(self.cns, "ip", "link", "set", "vbr0", "up"))
            sh(*nsx(sns, "ip", "link", "set", "vbr1", "up"))
            self.ip = "10.214.20.2"
            d = "/tmp/ust-bench-run-kngx"
            nginx_conf(d, f"{self.ip}:80")
            self.spawn(sns, ["nginx", "-p", d, "-c", d + "/nginx.conf"], "nginx.log")
            self.iperf = self.spawn(sns, ["iperf3", "-s", "-4", "-B", self.ip], "iperf3.log")
            self.notes.append("nginx and iperf3 -s on the kernel, clients across a veth pair")
        elif n == "ustack-run":
            self.cns = NS + "u"
            new_ns(self.cns)
            self.ns = [self.cns]
            self.ip = "10.214.21.2"
            dev = ["--tap", "usbrun0", "--ip", f"{self.ip}/24", "--host-ip", "10.214.21.1/24"]
            d = "/tmp/ust-bench-run-ungx"
            nginx_conf(d, f"{self.ip}:80")
            self.spawn(self.cns, [USTACK, "run", *dev, "--", "nginx", "-p", d, "-c", d + "/nginx.conf"], "nginx.log")
            self.wait_port(80)
            # a second device (its own stack) for iperf3 -s
            dev2 = ["--tap", "usbrun1", "--ip", "10.214.23.2/24", "--host-ip", "10.214.23.1/24"]
            self.iperf = self.spawn(self.cns, [USTACK, "run", *dev2, "--", "iperf3", "-s", "-4", "-B", "10.214.23.2"],
                                    "iperf3.log")
            self.iperf_ip = "10.214.23.2"
            self.notes.append("nginx and iperf3 -s, unmodified, under `ustack run` (the shim's stack thread "
                              "and the program share the server CPU)")
        elif n == "ustack-serve":
            self.cns = NS + "s"
            new_ns(self.cns)
            self.ns = [self.cns]
            self.ip = "10.214.22.2"
            self.spawn(self.cns, [USTACK, "serve", "--tap", "usbsrv0", "--ip", f"{self.ip}/24", "--host-ip",
                                  "10.214.22.1/24", "--http", f"80:{WWW}", "--iperf3", "5201"], "serve.log")
            self.iperf = self.procs[-1]
            self.notes.append("`ustack serve --http --iperf3`: ustack's own HTTP and iperf3 servers, no shim")
        self.wait_port(80)
        if not hasattr(self, "iperf_ip"):
            self.iperf_ip = self.ip
        for _ in range(100):
            r = subprocess.run(nsx(self.cns, "bash", "-c", f"exec 3<>/dev/tcp/{self.iperf_ip}/5201"),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=10)
            if r.returncode == 0:
                break
            time.sleep(0.1)
        time.sleep(0.3)

    def teardown(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGQUIT if "nginx" in " ".join(p.args) else signal.SIGTERM)
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        for ns in self.ns:
            del_ns(ns)

    def client(self, argv, timeout):
        try:
            return subprocess.run(nsx(self.cns, "taskset", "-c", CCPU, *argv), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return subprocess.CompletedProcess(argv, -1, "", "timed out")


def us(v, unit):
    return float(v) * {"us": 1, "ms": 1000, "s": 1e6}[unit]


def run_wrk(t, path):
    r = t.client(["wrk", "--latency", "-t", "1", "-c", str(WRK_CONNS), "-d", f"{SECS}s",
                  f"http://{t.ip}{path}"], timeout=SECS + 30)
    out = r.stdout
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if r.returncode != 0 or not m:
        return {"error": (r.stderr or out).strip()[-200:]}
    d = {"rps": float(m.group(1))}
    for pct, key in (("50", "p50_us"), ("99", "p99_us")):
        mm = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if mm:
            d[key] = round(us(mm.group(1), mm.group(2)), 1)
    mt = re.search(r"Transfer/sec:\s+([\d.]+)(KB|MB|GB)", out)
    if mt:
        d["gbps"] = round(float(mt.group(1)) * {"KB": 1e3, "MB": 1e6, "GB": 1e9}[mt.group(2)] * 8 / 1e9, 3)
    if "Socket errors" in out or "Non-2xx" in out:
        d["errors"] = re.findall(r"(Socket errors.*|Non-2xx.*)", out)
    return d


def run_iperf(t, reverse):
    r = t.client(["iperf3", "-c", t.iperf_ip, "-t", str(SECS), "-J", *(["-R"] if reverse else [])],
                 timeout=SECS + 30)
    try:
        j = json.loads(r.stdout)
    except ValueError:
        return {"error": (r.stderr or r.stdout).strip()[-200:]}
    if "error" in j:
        return {"error": j["error"]}
    return {"gbps": round(j["end"]["sum_received"]["bits_per_second"] / 1e9, 3)}


WORKLOADS = [
    ("wrk_small", "wrk, 16 keep-alive connections, a 6-byte file", lambda t: run_wrk(t, "/small.html")),
    ("wrk_1m", "wrk, 16 keep-alive connections, a 1 MB file", lambda t: run_wrk(t, "/1m.bin")),
    ("iperf3", "iperf3 -c (client sends)", lambda t: run_iperf(t, False)),
    ("iperf3_R", "iperf3 -c -R (server sends)", lambda t: run_iperf(t, True)),
]


def median(rs, key):
    v = [r[key] for r in rs if key in r]
    return statistics.median(v) if v else None


def table(res):
    cols = [t for t in TARGETS if t in res["targets"]]
    lines = ["|  | " + " | ".join(cols) + " |", "|---|" + "---|" * len(cols)]

    def row(label, w, key, fmt):
        cells = []
        for c in cols:
            m = res["targets"][c].get(w, {}).get("median", {})
            e = res["targets"][c].get(w, {}).get("error")
            cells.append(fmt(m[key]) if m and m.get(key) is not None else ("error" if e else "n/a"))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")

    row("HTTP, 6 B file: requests/s (wrk)", "wrk_small", "rps", lambda v: f"{v:,.0f}")
    cells = []
    for c in cols:
        m = res["targets"][c].get("wrk_small", {}).get("median", {})
        cells.append(f"{m.get('p50_us', 0):.0f} / {m.get('p99_us', 0):.0f}" if m else "n/a")
    lines.append("|   p50 / p99 µs | " + " | ".join(cells) + " |")
    row("HTTP, 1 MB file: requests/s", "wrk_1m", "rps", lambda v: f"{v:,.0f}")
    row("  Gbit/s", "wrk_1m", "gbps", lambda v: f"{v:.2f}")
    row("iperf3 client→server, Gbit/s", "iperf3", "gbps", lambda v: f"{v:.2f}")
    row("iperf3 -R server→client, Gbit/s", "iperf3_R", "gbps", lambda v: f"{v:.2f}")
    return "\n".join(lines)


def main():
    if os.geteuid() != 0:
        print("bench_run: needs root", file=sys.stderr)
        return 1
    for p in ("nginx", "iperf3", "wrk"):
        if not shutil.which(p):
            print(f"bench_run: {p} missing (make deps)", file=sys.stderr)
            return 1
    os.makedirs(WWW, exist_ok=True)
    with open(os.path.join(WWW, "small.html"), "w") as f:
        f.write("hello\n")
    with open(os.path.join(WWW, "1m.bin"), "wb") as f:
        f.write(os.urandom(1 << 20))
    res = {"config": {"runs": RUNS, "secs": SECS, "server_cpu": SCPU, "client_cpu": CCPU,
                      "wrk_conns": WRK_CONNS},
           "targets": {}, "workloads": {w: d for w, d, _ in WORKLOADS}}
    with open("/proc/loadavg") as f:
        res["loadavg_start"] = " ".join(f.read().split()[:3])
    failed = False
    for name in TARGETS:
        t = Target(name)
        tr = {"notes": t.notes}
        res["targets"][name] = tr
        log(f"{name}: setting up")
        try:
            t.setup()
            for w, _, fn in WORKLOADS:
                rs = []
                for i in range(RUNS):
                    d = fn(t)
                    rs.append(d)
                    log(f"{name} run {i + 1}/{RUNS} {w}: {d}")
                ok = [r for r in rs if "error" not in r]
                tr[w] = {"runs": rs, "median": {k: median(ok, k) for k in ("rps", "p50_us", "p99_us", "gbps")}
                         if ok else {}}
                if not ok:
                    tr[w]["error"] = rs[-1].get("error")
                    failed = True
        except (RuntimeError, subprocess.SubprocessError, OSError) as e:
            tr["error"] = str(e)
            log(f"{name}: FAILED: {e}")
            failed = True
        finally:
            t.teardown()
    with open("/proc/loadavg") as f:
        res["loadavg_end"] = " ".join(f.read().split()[:3])
    md = table(res)
    notes = "\n".join(f"- {n}: {'; '.join(res['targets'][n]['notes'])}" for n in TARGETS if n in res["targets"])
    head = (f"- `ustack run` beside the kernel and `ustack serve` (bench/bench_run.py): median of {RUNS} run(s) "
            f"of {SECS} s; servers on CPU {SCPU}, clients (wrk -t 1 -c {WRK_CONNS}, iperf3) on CPU {CCPU}; "
            f"load average {res['loadavg_start']} at start, {res['loadavg_end']} at end")
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "run.json"), "w") as f:
        json.dump(res, f, indent=1)
    with open(os.path.join(OUT, "run.md"), "w") as f:
        f.write(head + "\n" + notes + "\n\n" + md + "\n")
    print()
    print(head)
    print(notes)
    print()
    print(md)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
