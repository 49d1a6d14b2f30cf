#!/usr/bin/env python3
"""Real voices behind real participants: labelled corpora mixed from ../shared/eval/corpus-real.

corpus-real holds two real role-played calls whose truth comes from each party's own clean
recording. Nothing is behind either party. This script puts each call's voices behind the other's
parties, so the same truth still holds (a background voice is never talk) and the background is
real speech, not a synthetic voice:

  tv      the other call's caller behind this caller, 16 dB under the caller's loud frames
          (95th percentile of 10 ms RMS), all call: a television or a room;
  tvnear  the same, 12 dB under;
  nb      the other call's agent and caller behind this agent, 20 and 24 dB under: the next agents;
  both    tv and nb together.

Each corpus is written to OUT/corpus-realmix-NAME (recordings/, ctr/ and truth.json copied from
corpus-real, audio replaced), beside a symbolic link OUT/score.py to the corpora's scorer, so
`Benchmarks/compare/compare.sh --corpus OUT/corpus-realmix-tv` scores it like any other corpus.
Deterministic: no randomness, the same bytes every run.

    python3 Benchmarks/compare/realmix.py [--source ../shared/eval/corpus-real] [--out /tmp/realmix]
"""
import argparse, glob, os, shutil, sys, wave

import numpy as np


def read(path):
    with wave.open(path) as w:
        assert w.getnchannels() == 2 and w.getsampwidth() == 2, path
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").reshape(-1, 2).astype(float)


def write(path, x):
    with wave.open(path, "wb") as w:
        w.setnchannels(2); w.setsampwidth(2); w.setframerate(8000)
        w.writeframes(np.clip(np.round(x), -32768, 32767).astype("<i2").tobytes())


def loud_db(x):
    """The loud frames' level: 95th percentile of 10 ms RMS over the non-silent frames (dB)."""
    n = len(x) // 80
    r = np.sqrt((x[: n * 80].reshape(n, 80) ** 2).mean(1))
    return 20 * np.log10(np.percentile(r[r > 0], 95))


def behind(target, source, under_db):
    """`source` (looped or cut to `target`'s length) scaled to sit `under_db` under `target`."""
    bg = np.resize(source, len(target))
    return bg * 10 ** ((loud_db(target) - under_db - loud_db(bg)) / 20)


def writable(top):
    """Adds the owner's write bit to every folder and file under `top`, if it exists."""
    for root, dirs, names in os.walk(top):
        for p in [root] + [os.path.join(root, n) for n in names]:
            os.chmod(p, os.stat(p).st_mode | 0o200)


VARIANTS = {"tv": (16, None), "tvnear": (12, None), "nb": (None, 20), "both": (16, 20)}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source", default=os.path.join(here, "..", "..", "..", "shared", "eval", "corpus-real"))
    ap.add_argument("--out", default="/tmp/realmix")
    args = ap.parse_args()
    src = os.path.abspath(args.source)
    files = sorted(glob.glob(os.path.join(src, "recordings", "**", "*.wav"), recursive=True))
    if len(files) != 2 or not os.path.exists(os.path.join(src, "truth.json")):
        sys.exit(f"realmix: {src}: expected corpus-real (truth.json and two recordings), found {len(files)} recordings")
    calls = [read(f) for f in files]
    os.makedirs(args.out, exist_ok=True)
    scorer = os.path.join(args.out, "score.py")
    if not os.path.lexists(scorer):
        os.symlink(os.path.join(os.path.dirname(src), "score.py"), scorer)
    for name, (tv_db, nb_db) in VARIANTS.items():
        out = os.path.join(args.out, "corpus-realmix-" + name)
        writable(out)
        shutil.rmtree(out, ignore_errors=True)
        shutil.copytree(src, out)
        writable(out)  # the source corpus is read-only, and copytree keeps its modes
        for i, f in enumerate(files):
            x, other = calls[i].copy(), calls[1 - i]
            if tv_db is not None:  # channel 0 (customer): the other call's caller behind them
                x[:, 0] += behind(x[:, 0], other[:, 0], tv_db)
            if nb_db is not None:  # channel 1 (agent): the other call's agent, and its caller 7 s on
                x[:, 1] += behind(x[:, 1], other[:, 1], nb_db) + behind(x[:, 1], np.roll(other[:, 0], 7 * 8000), nb_db + 4)
            write(os.path.join(out, os.path.relpath(f, src)), x)
        print(out)


if __name__ == "__main__":
    main()
