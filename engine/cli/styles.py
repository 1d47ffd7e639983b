"""`tinystyle styles`: list the bundled and user styles, as a table or as JSON."""

from __future__ import annotations

import argparse
import json
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("styles", help="list the available styles",
                       description="List bundled and user styles (names for `stylize --style`).")
    p.add_argument("--json", action="store_true", help="print one JSON list instead of a table")
    p.set_defaults(func=run)


def style_record(style) -> dict:
    """The JSON fields of one ``engine.styles.Style``."""
    return {
        "name": style.name,
        "title": style.title,
        "artist": style.artist,
        "year": style.year,
        "preset": style.preset,
        "weights": style.weights,
        "path": str(style.path),
        "thumbnail": str(style.thumbnail) if style.thumbnail else None,
        "bundled": style.bundled,
        "size_bytes": style.path.stat().st_size if style.path.exists() else None,
    }


def run(args: argparse.Namespace) -> int:
    from engine.styles import list_styles  # reads model cards: keep `tinystyle --help` light

    records = [style_record(s) for s in list_styles()]
    if args.json:
        print(json.dumps(records, indent=2))
    elif not records:
        print("no styles installed", file=sys.stderr)
    else:
        print(format_table(records))
    return 0


def format_table(records: list[dict]) -> str:
    """Aligned columns: name, painting, artist, preset, weights, size, where it comes from."""
    header = ("NAME", "PAINTING", "ARTIST", "PRESET", "WEIGHTS", "SIZE", "SOURCE")
    rows = [header] + [
        (
            r["name"],
            r["title"] + (f" ({r['year']})" if r["year"] else ""),
            r["artist"],
            r["preset"],
            f"{r['weights']:,}",
            f"{r['size_bytes'] / 1024:.1f} KB" if r["size_bytes"] is not None else "missing",
            "bundled" if r["bundled"] else "user",
        )
        for r in records
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    right = {4, 5}  # numbers align right
    lines = [
        "  ".join(c.rjust(w) if i in right else c.ljust(w)
                  for i, (c, w) in enumerate(zip(row, widths, strict=True))).rstrip()
        for row in rows
    ]
    return "\n".join(lines)
