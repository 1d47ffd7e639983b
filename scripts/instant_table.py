"""Instant styles against trained ones (issue #16): the table and sheets of docs/instant/.

For each painting held out of the instant-style predictor's training, make three styles the way
a user would, one after another on this machine, and time each command's wall clock:

- instant: ``tinystyle instant`` (seconds, no training);
- quick:   ``tinystyle train --preset quick`` (Gram losses from scratch, the reference);
- refine:  ``tinystyle train --preset refine`` (the painted recipe started from the instant
           style: fewer teacher crops and steps);
- painted: ``tinystyle train --preset painted`` (the wizard's default; only with ``--kinds``).

Then judge them on unseen shared photos (those of scripts/validate_judge.py) and print a
markdown table: the judge's style distance, its ratio to quick's, the texture terms (VGG and
colour statistics: a second opinion, since the judge's embedding is the instant styles' own
predictor), SSIM to the photo, and the time ratio to quick. A contact sheet per painting:
photo | each kind, in order | painting.
Finished styles are kept in ``--out`` (with their times), so a stopped run resumes.

    python scripts/instant_table.py --out runs/instant-table
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from validate_judge import DATA, PHOTOS, contact_sheet

from engine.training.evaluate import evaluate_models

# Held out of the predictor's training (docs/instant/README.md).
PAINTINGS = ("van-gogh-church-at-auvers", "hokusai-ejiri-suruga", "kandinsky-composition-viii")
KINDS = ("instant", "refine", "quick")  # the default; "painted" can be added with --kinds


def command(kind: str, painting: Path, name: str, folder: Path) -> list[str]:
    """The user's command for one kind of style (written to ``folder``, not installed)."""
    cli = [sys.executable, "-m", "engine.cli"]
    if kind == "instant":
        return [*cli, "instant", str(painting), "--name", name, "--no-install",
                "--out-dir", str(folder)]
    return [*cli, "train", str(painting), "--name", name, "--preset", kind, "--no-install",
            "--out-dir", str(folder)]


def make_style(kind: str, painting: Path, out: Path) -> tuple[Path, float]:
    """The style's ONNX file and the command's wall seconds (read back if made before)."""
    name = f"{painting.stem[:40]}-{kind}"
    folder = out / painting.stem / kind
    model, timing = folder / name / f"{name}.onnx", folder / "seconds.json"
    if not (model.is_file() and timing.is_file()):
        started = time.perf_counter()
        log = folder / "log.txt"
        folder.mkdir(parents=True, exist_ok=True)
        with log.open("w") as f:
            subprocess.run(command(kind, painting, name, folder), check=True, stdout=f,
                           stderr=subprocess.STDOUT)
        timing.write_text(json.dumps(time.perf_counter() - started))
    return model, json.loads(timing.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/instant-table"))
    parser.add_argument("--paintings", nargs="+", default=PAINTINGS)
    parser.add_argument("--photos", type=int, default=len(PHOTOS), help="how many of PHOTOS")
    parser.add_argument("--size", type=int, default=384, help="photo short side when judging")
    parser.add_argument("--kinds", nargs="+", default=KINDS,
                        choices=(*KINDS, "painted"), help="which styles (quick is the reference)")
    args = parser.parse_args()
    photos = [DATA / "content" / f"{name}.jpg" for name in PHOTOS[:args.photos]]
    print("| painting | style | judge | judge / quick's | toward | texture | SSIM | wall s | "
          "time / quick's |\n|---|---|---|---|---|---|---|---|---|", flush=True)
    for stem in args.paintings:
        painting = DATA / "styles" / f"{stem}.jpg"
        made = {kind: make_style(kind, painting, args.out) for kind in args.kinds}
        scores = evaluate_models([str(model) for model, _ in made.values()], photos, painting,
                                 size=args.size)
        quick = scores[list(made).index("quick")]
        for kind, score in zip(made, scores, strict=True):
            seconds = made[kind][1]
            print(f"| {stem} | {kind} | {score.style_distance:.3f} | "
                  f"{score.style_distance / quick.style_distance:.2f} | {score.progress:.2f} | "
                  f"{score.texture:.3f} | {score.ssim:.2f} | {seconds:.0f} | "
                  f"{seconds / made['quick'][1]:.2f} |", flush=True)
        contact_sheet(photos[:4], [str(model) for model, _ in made.values()], painting,
                      args.size, args.out / f"{stem}.jpg", control=False)


if __name__ == "__main__":
    main()
