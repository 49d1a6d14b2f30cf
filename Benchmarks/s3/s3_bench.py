#!/usr/bin/env python3
"""Batch over S3 (moto on loopback, signature checking on, through the harness's proxy) against
the same batch over a local copy, with and without 100 ms of first-byte latency per request.

    python3 Benchmarks/s3/s3_bench.py [TALKTRACE] [COPIES] [RUNS]

TALKTRACE defaults to .build/release/talktrace; COPIES (default 40) copies of each of the 8
recordings in TestAudio (about 40 s each, 1.3 MB); the median of RUNS (default 3) wall times."""
import json, os, shutil, statistics, subprocess, sys, tempfile, time, urllib.request

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
exe = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, ".build/release/talktrace")
copies = int(sys.argv[2]) if len(sys.argv) > 2 else 40
runs = int(sys.argv[3]) if len(sys.argv) > 3 else 3
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
try:
    for _ in range(600):
        if os.path.exists(port_file): break
        time.sleep(0.2)
    port = open(port_file).read().strip()
    creds = json.load(open(os.path.join(work, "creds.json")))
    env = dict(os.environ, AWS_ACCESS_KEY_ID=creds["accessKeyId"], AWS_SECRET_ACCESS_KEY=creds["secretAccessKey"],
               AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}", AWS_EC2_METADATA_DISABLED="true")
    def proxy(latency):
        urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/__proxy/config",
                               data=json.dumps({"latency": latency}).encode(), method="POST")).read()
    def timed(args, e):
        """Median wall seconds of `runs` batches, and the median CPU seconds talktrace used."""
        times, cpus = [], []
        for i in range(runs):
            out = os.path.join(work, f"out-{time.time_ns()}")
            t = time.monotonic()
            p = subprocess.Popen([exe, "batch", *args, "--out", out, "--quiet"], env=e, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            _, status, usage = os.wait4(p.pid, 0)
            times.append(time.monotonic() - t)
            cpus.append(usage.ru_utime + usage.ru_stime)
            assert os.waitstatus_to_exitcode(status) == 0
        return statistics.median(times), statistics.median(cpus)
    n = len(uploads)
    mb = sum(os.path.getsize(u[0]) for u in uploads) / 1e6
    direct = dict(env, AWS_ENDPOINT_URL=f"http://127.0.0.1:{creds['motoPort']}")
    rows = [("local disk (page cache)", timed([local], os.environ))]
    rows.append(("S3: moto directly", timed(["s3://bench-bucket/bulk/"], direct)))
    proxy(0.0)
    rows.append(("S3: moto through the proxy", timed(["s3://bench-bucket/bulk/"], env)))
    proxy(0.1)
    rows.append(("S3: proxy, 100 ms first-byte latency, --s3-reads 32", timed(["s3://bench-bucket/bulk/"], env)))
    rows.append(("S3: proxy, 100 ms first-byte latency, --s3-reads 8", timed(["s3://bench-bucket/bulk/", "--s3-reads", "8"], env)))
    rows.append(("S3: proxy, 100 ms first-byte latency, --s3-reads 1", timed(["s3://bench-bucket/bulk/", "--s3-reads", "1"], env)))
    print(f"{n} recordings, {mb:.0f} MB, median of {runs} runs, {os.cpu_count()} cores, --jobs {os.cpu_count()}")
    print(f"| batch | wall | × local | talktrace CPU (user+sys) |")
    print(f"|---|---|---|---|")
    for name, (wall, cpu) in rows:
        print(f"| {name} | {wall:.2f} s | {wall / rows[0][1][0]:.2f} | {cpu:.2f} s |")
finally:
    harness.kill()
    shutil.rmtree(work, ignore_errors=True)
