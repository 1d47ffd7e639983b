"""Use the real app as a user would, for minutes, on a real X server with a window manager.

Starts Xvfb and openbox, launches ``tinystyle-studio`` with a fresh home whose settings remember
a video file as the webcam source, switches to webcam mode and starts it with the keyboard
(xdotool), nudges the strength and switches modes now and then, and every minute records
whether the process is alive, its RSS and CPU time, and a screenshot. Ends with Ctrl+Q and checks
the exit code. Debian packages: xvfb openbox xdotool x11-apps netpbm.

    python scripts/x11_soak.py --minutes 10 --out runs/x11-soak [--style great-wave]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VIDEO = REPO.parent / "shared" / "data" / "video" / "opencv-vtest.mp4"
DISPLAY = ":77"
TOOLS = ("Xvfb", "openbox", "xdotool", "xwd", "xwdtopnm", "pnmtopng")


def _xdotool(*args: str) -> str:
    done = subprocess.run(["xdotool", *args], env={**os.environ, "DISPLAY": DISPLAY},
                          capture_output=True, text=True, timeout=60)
    return done.stdout.strip()


def _screenshot(path: Path) -> None:
    shot = subprocess.run(f"xwd -root -display {DISPLAY} | xwdtopnm 2>/dev/null | pnmtopng",
                          shell=True, capture_output=True, timeout=60)
    path.write_bytes(shot.stdout)


def _sample(pid: int) -> tuple[float, float]:
    """(RSS in MB, CPU seconds) of a live process."""
    status = Path(f"/proc/{pid}/status").read_text()
    rss_kb = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS")))
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return rss_kb / 1024, cpu


def _home_remembering(video: Path, style: str | None) -> Path:
    """A fresh home whose settings remember the video as the webcam source (and the style)."""
    home = Path(tempfile.mkdtemp(prefix="tinystyle-x11-"))
    config = home / ".config" / "TinyStyle" / "TinyStyle Studio.conf"
    config.parent.mkdir(parents=True)
    chosen = f"\n[style]\nlast={style}\n" if style else ""
    config.write_text(f"[webcam]\nsource=file:{video}\n\n[window]\nmode=1\n{chosen}")
    return home


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--video", type=Path, default=VIDEO)
    parser.add_argument("--out", type=Path, default=REPO / "runs" / "x11-soak")
    parser.add_argument("--style", help="style to select first (default: the app's first)")
    args = parser.parse_args()
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing or not args.video.is_file():
        print(f"error: missing {', '.join(missing) or args.video}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    home = _home_remembering(args.video.resolve(), args.style)
    env = {**os.environ, "DISPLAY": DISPLAY, "HOME": str(home),
           "XDG_CONFIG_HOME": str(home / ".config"), "TINYSTYLE_HOME": str(home / "tinystyle")}
    env.pop("QT_QPA_PLATFORM", None)
    xvfb = subprocess.Popen(["Xvfb", DISPLAY, "-screen", "0", "1600x1000x24", "-nolisten", "tcp"])
    time.sleep(2)
    wm = subprocess.Popen(["openbox"], env=env, stderr=subprocess.DEVNULL)
    log = (args.out / "app.log").open("w")
    app = subprocess.Popen([sys.executable, "-m", "studio.app"], env=env, cwd=REPO,
                           stdout=log, stderr=subprocess.STDOUT)
    ok = False
    try:
        window = _xdotool("search", "--sync", "--onlyvisible", "--name", "TinyStyle Studio")
        window = window.splitlines()[0]
        _xdotool("windowactivate", "--sync", window)
        _xdotool("windowsize", window, "1400", "900")
        time.sleep(3)
        _xdotool("key", "ctrl+2")
        time.sleep(1)
        # click Start (top right of the webcam pane) like a user; Space would type into the
        # style search field, which has the focus
        _xdotool("mousemove", "--window", window, "1339", "84", "click", "1")
        start, minute = time.monotonic(), 0
        print("minute  alive  rss_mb  cpu_s")
        while time.monotonic() - start < args.minutes * 60:
            time.sleep(5)
            if app.poll() is not None:
                print(f"app died after {(time.monotonic() - start) / 60:.1f} min, "
                      f"code {app.returncode}")
                return 1
            if time.monotonic() - start >= 60 * minute:
                rss, cpu = _sample(app.pid)
                print(f"{minute:>6}  yes  {rss:>7.1f}  {cpu:>6.1f}", flush=True)
                _screenshot(args.out / f"minute-{minute:02d}.png")
                for _ in range(20):  # a user nudging the strength while it plays
                    _xdotool("key", "ctrl+bracketleft" if minute % 2 else "ctrl+bracketright")
                minute += 1
        _xdotool("key", "ctrl+1")  # image mode and back: the preview stops and restarts
        time.sleep(2)
        _xdotool("key", "ctrl+2")
        time.sleep(2)
        _screenshot(args.out / "end.png")
        _xdotool("key", "ctrl+q")
        app.wait(timeout=60)
        ok = app.returncode == 0
        print(f"survived {args.minutes:g} min; quit with code {app.returncode}")
    finally:
        if app.poll() is None:
            app.kill()
        wm.terminate()
        xvfb.terminate()
        log.close()
        shutil.rmtree(home, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
