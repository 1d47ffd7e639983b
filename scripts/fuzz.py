"""Long fuzz run of the issue-13 targets (tests/fuzz/targets.py): mutated real images, models,
checkpoints and CLI runs. Prints the cases run and every failure (shrunk by Hypothesis).

    python scripts/fuzz.py --cases 2000    # per target; --minutes bounds the whole run
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]


def _counting(target, count: list[int]):
    """``target`` counting its calls in ``count[0]`` (Hypothesis wants a plain function)."""
    def counted(data) -> None:
        count[0] += 1
        target(data)

    return counted


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=500, help="cases per target")
    parser.add_argument("--minutes", type=float, default=30, help="stop starting targets after")
    parser.add_argument("--seed", type=int, default=None, help="reproduce a run")
    args = parser.parse_args()
    os.environ["TINYSTYLE_HOME"] = tempfile.mkdtemp(prefix="tinystyle-fuzz-")

    import numpy as np
    from hypothesis import HealthCheck, given, seed, settings
    from hypothesis import strategies as st

    from tests.fuzz import targets

    seeds = targets.Seeds.build(Path(os.environ["TINYSTYLE_HOME"]))
    photo = np.random.default_rng(0).integers(0, 256, (40, 56, 3), dtype=np.uint8)
    suffixes = st.sampled_from([".jpg", ".png", ".webp", ".gif", ".tif", ".bmp", ".txt"])

    def image(data):
        raw = targets.mutate_bytes(data.draw(st.sampled_from(seeds.images)), data.draw)
        targets.check_image(raw, data.draw(suffixes))

    def model(data):
        targets.check_model(targets.mutate_model(seeds.model, data.draw), photo)

    def checkpoint(data):
        targets.check_checkpoint(targets.mutate_checkpoint(seeds.checkpoint, data.draw))

    def cli(data):
        raw = targets.mutate_bytes(data.draw(st.sampled_from(seeds.images)), data.draw)
        onnx = (targets.mutate_model(seeds.model, data.draw) if data.draw(st.booleans())
                else seeds.model)
        targets.check_cli(raw, data.draw(suffixes), onnx)

    started, failures, total = time.monotonic(), 0, 0
    for name, target in (("images", image), ("models", model), ("checkpoints", checkpoint),
                         ("cli", cli)):
        if time.monotonic() - started > args.minutes * 60:
            print(f"{name}: skipped (time is up)")
            continue
        count = [0]
        run = given(st.data())(_counting(target, count))
        test = settings(max_examples=args.cases, deadline=None, database=None,
                        suppress_health_check=list(HealthCheck))(run)
        if args.seed is not None:
            test = seed(args.seed)(test)
        try:
            test()
            result = "ok"
        except Exception as exc:  # a contract violation: report it and go on
            failures += 1
            result = f"FAILED: {type(exc).__name__}: {' '.join(str(exc).split())[:400]}"
        total += count[0]
        print(f"{name}: {count[0]} cases, {result}", flush=True)
    minutes = (time.monotonic() - started) / 60
    print(f"{total} cases in {minutes:.1f} min, {failures} failing targets")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
