"""`tinystyle train-library`: train many styles at once, one Ray job per recipe.

A local Ray instance on this machine by default, or a running cluster with ``--address``;
each job gets ``--cpus-per-job`` / ``--gpus-per-job``, Ray retries a failed one from its last
checkpoint, and everything lands in one results folder (``engine.training.library``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engine.io import paths


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train-library", help="train many styles at once on Ray (this machine or a cluster)",
        description="Train one style per RECIPE (a TOML file like resources/styles/recipes/"
                    "*.toml, or a folder of them) as Ray jobs, then install them as user styles. "
                    "Needs Ray: pip install \"tinystyle-studio[cluster]\". On a cluster, the "
                    "recipes' paintings, the photos and --results must be on a filesystem every "
                    "node sees.")
    p.add_argument("recipes", metavar="RECIPE", nargs="+", type=Path,
                   help="recipe files, or folders of *.toml recipes")
    p.add_argument("--paintings", type=Path,
                   help="folder of the paintings the recipes name (default: beside each recipe)")
    p.add_argument("--content", type=Path, help="folder of content photos (default: bundled)")
    p.add_argument("--results", type=Path,
                   help="one folder for every run and library.json (default: the runs folder)")
    p.add_argument("--address", help="join a running Ray cluster ('auto' on one of its nodes, "
                                      "or ray://HEAD:10001); default: a local Ray instance")
    p.add_argument("--cpus-per-job", type=float, default=1.0,
                   help="CPUs each job holds, and its torch threads (default: 1)")
    p.add_argument("--gpus-per-job", type=float, default=0.0,
                   help="GPU share of each job, 0 to 1 (0.5: two jobs per GPU; default: 0)")
    p.add_argument("--retries", type=int, default=2,
                   help="times Ray retries a failed job, from its checkpoint (default: 2)")
    p.add_argument("--report-every", type=float, default=10.0, metavar="SECONDS",
                   help="seconds between a job's progress lines (default: 10)")
    p.add_argument("--resume", action="store_true",
                   help="continue runs that already have a checkpoint in --results")
    p.add_argument("--no-install", action="store_true", help="do not install the results")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from engine.deps import require_training

    require_training("tinystyle train-library")
    from engine.training.library import (
        SUMMARY_NAME,
        LibrarySettings,
        Recipe,
        find_recipes,
        import_ray,
        train_library,
    )

    import_ray()  # a missing Ray is one clear line before anything starts
    recipes = [Recipe.load(path, args.paintings) for path in find_recipes(args.recipes)]
    results = args.results or paths.user_runs_dir()
    settings = LibrarySettings(results=results, content=args.content, cpus=args.cpus_per_job,
                               gpus=args.gpus_per_job, retries=args.retries, resume=args.resume,
                               report_every_s=args.report_every)
    outcomes = train_library(recipes, settings, address=args.address,
                             on_event=lambda e: print(e.format(), file=sys.stderr, flush=True))
    for outcome in outcomes:
        print(f"{outcome.name}: {outcome.status}: {outcome.describe()}")
    print(f"summary: {results / SUMMARY_NAME}")
    if not args.no_install:
        _install([(r, o) for r, o in zip(recipes, outcomes, strict=True) if o.status == "done"])
    failed = [o for o in outcomes if o.status == "failed"]
    if failed:
        print(f"error: {len(failed)} of {len(outcomes)} styles failed: "
              + ", ".join(o.name for o in failed), file=sys.stderr)
        return 2
    if any(o.status == "cancelled" for o in outcomes):
        print("resume with the same command and --resume", file=sys.stderr)
        return 130
    return 0


def _install(done) -> None:
    from engine.training.trainer import TrainResult, install_trained_style

    for recipe, outcome in done:
        result = TrainResult(Path(outcome.onnx), Path(outcome.checkpoint),
                             Path(outcome.preview), outcome.steps, recipe.painting)
        style = install_trained_style(result, recipe.name)
        print(f"installed style '{style.name}' ({style.path})")
