"""Benchmark tally-sheet scanning: throughput (sheets/s) and decode rate per distortion level.

    python bench/bench_scan.py [--workers 2] [--n 300] [--rates] [--rates-n 200]

Images are synthetic 1600x1200 JPEG photos from ``voteaudit.ingest.scan.sheets`` (seeded, so a
cache directory is reused between runs). Throughput is measured on ``--n`` default-distortion
photos with ``scan(..., workers=W)``: sheets per wall-clock second (file reading, hashing,
decoding, parsing and checks included), and the mean decoder time per image (its inverse is the
per-core rate of the decoder alone, less sensitive to other load on the machine). Every decoded sheet is compared
with its truth; a wrong decode is reported separately from a missed one.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from voteaudit.ingest.scan import scan, sheets

CACHE = Path(tempfile.gettempdir()) / "voteaudit-bench-scan"


def _make(args: tuple[str, int]) -> str:
    level, seed = args
    path = CACHE / f"{level}-{seed:05d}.jpg"
    if not path.exists():
        truth = sheets.random_sheet(seed)
        tmp = path.with_suffix(".part")
        sheets.render_sheet(truth, distortion=level, seed=seed).save(tmp, "JPEG", quality=90)
        tmp.rename(path)
    return str(path)


def make_images(level: str, n: int, workers: int) -> list[Path]:
    CACHE.mkdir(exist_ok=True)
    jobs = [(level, seed) for seed in range(n)]
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            return [Path(p) for p in pool.map(_make, jobs, chunksize=8)]
    return [Path(_make(j)) for j in jobs]


def check(report, files: list[Path]) -> tuple[int, int]:
    """(correct, wrong) decodes against the seeded truth."""
    truth = {str(f): sheets.random_sheet(int(f.stem.split("-")[1])).raw for f in files}
    correct = wrong = 0
    for im in report.images:
        for s in im.sheets:
            if s.raw == truth[im.path]:
                correct += 1
            else:
                wrong += 1
    return correct, wrong


def throughput(n: int, workers: int) -> None:
    files = make_images("default", n, max(workers, 2))
    scan(files[:4], workers=1)  # warm imports
    t0 = time.perf_counter()
    report = scan(files, workers=workers)
    wall = time.perf_counter() - t0
    decoder = sum(im.decode.get("seconds", 0) for im in report.images) / len(files)
    correct, wrong = check(report, files)
    decoded = sum(len(im.sheets) for im in report.images)
    print(f"throughput: {len(files)} JPEGs 1600x1200 (default distortion), workers={workers}")
    print(f"  {decoded / wall:.1f} sheets/s wall ({wall:.2f} s); decoder (after image load) "
          f"{1000 * decoder:.1f} ms/image "
          f"= {1 / decoder:.0f} sheets/s per core")
    print(f"  decoded {decoded}/{len(files)} ({100 * decoded / len(files):.1f} %), correct {correct}, "
          f"wrong {wrong}, unreadable {len(report.unreadable)}")


def rates(n: int, workers: int) -> None:
    print(f"decode rate per distortion level ({n} photos each, workers={workers}):")
    print(f"  {'level':<8} {'decoded':>8} {'rate':>8} {'wrong':>6} {'ms/img':>7}  strategies")
    for level in sheets.DISTORTIONS:
        files = make_images(level, n, max(workers, 2))
        report = scan(files, workers=workers)
        correct, wrong = check(report, files)
        strategies: dict[str, int] = {}
        for im in report.images:
            key = im.decode.get("strategy") or "none"
            strategies[key] = strategies.get(key, 0) + 1
        ms = 1000 * sum(im.decode.get("seconds", 0) for im in report.images) / len(files)
        top = ", ".join(f"{k} {v}" for k, v in sorted(strategies.items(), key=lambda kv: -kv[1]))
        print(f"  {level:<8} {correct:>4}/{len(files):<3} {100 * correct / len(files):>7.1f}% {wrong:>6} "
              f"{ms:>7.1f}  {top}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--n", type=int, default=300, help="photos for the throughput run")
    ap.add_argument("--rates", action="store_true", help="also print the decode-rate table per level")
    ap.add_argument("--rates-n", type=int, default=200, help="photos per level for --rates")
    args = ap.parse_args()
    throughput(args.n, args.workers)
    if args.rates:
        rates(args.rates_n, args.workers)


if __name__ == "__main__":
    main()
