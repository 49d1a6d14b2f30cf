#!/usr/bin/env python3
"""A batch over S3 on loopback against the same batch over a local copy, with and without 100 ms
of first-byte latency per request, and how much CPU talktrace and the server each used.

    python3 Benchmarks/s3/s3_bench.py [TALKTRACE] [COPIES] [RUNS] [--no-serial]

TALKTRACE defaults to .build/release/talktrace; COPIES (default 40) copies of each of the 8
recordings in TestAudio (about 40 s each, 1.3 MB); the median of RUNS (default 3) wall times.
`--no-serial` leaves out the `--s3-reads 1` row (it takes 35 s a run).

The server is the test harness (`Tests/S3Harness/s3_harness.py`, out of process on 127.0.0.1):
moto with signature checking on, behind the proxy that injects the latency. In the rows marked
"file server" the proxy answers GetObject itself, from the uploaded files with `sendfile`, after
checking each request's Signature Version 4 as S3 does (the listing and HeadBucket still go to
moto): the bytes then cost the server almost nothing, so the row measures talktrace rather than
a Python server copying 380 MB. The rows marked "moto" show what the Python server costs."""
import json, os, shutil, statistics, subprocess, sys, tempfile, time, urllib.request

args = [a for a in sys.argv[1:] if not a.startswith("--")]
serial = "--no-serial" not in sys.argv
root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
exe = args[0] if len(args) > 0 else os.path.join(root, ".build/release/talktrace")
copies = int(args[1]) if len(args) > 1 else 40
runs = int(args[2]) if len(args) > 2 else 3
day = os.path.join(root, "TestAudio/recordings/connect/demo-instance/CallRecordings/2026/03/03")
work = tempfile.mkdtemp(prefix="talktrace-s3-bench-")
local = os.path.join(work, "local"); os.makedirs(local)
uploads = []
for name in sorted(os.listdir(day)):
    for c in range(copies):
        shutil.copy(os.path.join(day, name), os.path.join(local, f"copy-{c}-{name}"))
        uploads.append([os.path.join(day, name), f"bulk/copy-{c}-{name}"])
spec = os.path.join(work, "spec.json")
json.dump({"bucket": "bench-bucket", "region": "eu-west-1", "uploads": uploads, "out": os.path.join(work, "creds.json")}, open(spec, "w"))
port_file = os.path.join(work, "port")
harness = subprocess.Popen([sys.executable, os.path.join(root, "Tests/S3Harness/s3_harness.py"), port_file, spec],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
ticks = os.sysconf("SC_CLK_TCK")

def server_cpu():
    """CPU seconds (user + system) the harness (moto and the proxy: one process) has used."""
    fields = open(f"/proc/{harness.pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / ticks

try:
    for _ in range(1200):
        if os.path.exists(port_file) or harness.poll() is not None: break
        time.sleep(0.2)
    port = open(port_file).read().strip()
    creds = json.load(open(os.path.join(work, "creds.json")))
    env = dict(os.environ, AWS_ACCESS_KEY_ID=creds["accessKeyId"], AWS_SECRET_ACCESS_KEY=creds["secretAccessKey"],
               AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}", AWS_EC2_METADATA_DISABLED="true")
    def proxy(latency, serve):
        urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/__proxy/config",
                               data=json.dumps({"latency": latency, "serve": serve}).encode(), method="POST")).read()
    def stats():
        return json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/__proxy/stats").read())
    def timed(args, e, s3=True):
        """Median wall seconds of `runs` batches, and the medians of talktrace's and the server's CPU seconds."""
        times, cpus, servers = [], [], []
        for i in range(runs):
            out = os.path.join(work, f"out-{time.time_ns()}")
            before = server_cpu()
            t = time.monotonic()
            p = subprocess.Popen([exe, "batch", *args, "--out", out, "--quiet"], env=e, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            _, status, usage = os.wait4(p.pid, 0)
            times.append(time.monotonic() - t)
            cpus.append(usage.ru_utime + usage.ru_stime)
            servers.append(server_cpu() - before)
            assert os.waitstatus_to_exitcode(status) == 0
            shutil.rmtree(out, ignore_errors=True)
        return statistics.median(times), statistics.median(cpus), statistics.median(servers) if s3 else None
    load = open("/proc/loadavg").read().split()[0]
    n = len(uploads)
    mb = sum(os.path.getsize(u[0]) for u in uploads) / 1e6
    prefix = "s3://bench-bucket/bulk/"
    direct = dict(env, AWS_ENDPOINT_URL=f"http://127.0.0.1:{creds['motoPort']}")
    rows = [("local disk (page cache)", timed([local], os.environ, s3=False))]
    proxy(0.0, "files")
    rows.append(("S3: file server, no latency", timed([prefix], env)))
    served = stats()["served"]
    assert served == n * runs, f"the file server answered {served} GETs, not {n * runs}"
    proxy(0.1, "files")
    rows.append(("S3: file server, 100 ms first-byte latency, `--s3-reads 32` (default)", timed([prefix], env)))
    rows.append(("S3: file server, 100 ms first-byte latency, `--s3-reads 64`", timed([prefix, "--s3-reads", "64"], env)))
    rows.append(("S3: file server, 100 ms first-byte latency, `--s3-reads 8`", timed([prefix, "--s3-reads", "8"], env)))
    if serial:
        rows.append(("S3: file server, 100 ms first-byte latency, `--s3-reads 1`", timed([prefix, "--s3-reads", "1"], env)))
    proxy(0.0, "moto")
    rows.append(("S3: moto directly", timed([prefix], direct)))
    rows.append(("S3: moto through the proxy (streamed)", timed([prefix], env)))
    proxy(0.1, "moto")
    rows.append(("S3: moto through the proxy, 100 ms first-byte latency", timed([prefix], env)))
    print(f"{n} recordings, {mb:.0f} MB, median of {runs} runs, {os.cpu_count()} cores, --jobs {os.cpu_count()}, "
          f"load average at the start: {load}")
    print(f"| batch | wall | × local | talktrace CPU (user+sys) | server CPU (user+sys) |")
    print(f"|---|---|---|---|---|")
    for name, (wall, cpu, server) in rows:
        print(f"| {name} | {wall:.2f} s | {wall / rows[0][1][0]:.2f} | {cpu:.2f} s | {'—' if server is None else f'{server:.2f} s'} |")
finally:
    harness.kill()
    harness.wait()
    shutil.rmtree(work, ignore_errors=True)
