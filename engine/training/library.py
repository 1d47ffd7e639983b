"""A style library trained at once: one Ray task per recipe, on one machine or a cluster.

A recipe is a TOML file in the built-in styles' format (``resources/styles/recipes/*.toml``)::

    [painting]   file (beside the recipe, or in the paintings folder), title, artist, year,
                 source, image_licence: the credits that go into the model's card
    [train]      preset = "quick" | "balanced" | "best", then any TrainConfig fields to override

``train_library(recipes, settings)`` starts a local Ray instance (or joins a cluster by
address), runs one task per recipe with its CPU/GPU share, lets Ray retry a task that fails (a
crash, a lost worker or node; each retry resumes the run's last checkpoint), streams progress
as ``JobEvent``s and keeps everything in one results folder::

    <results>/<name>/   checkpoint.pt, <name>.onnx, preview-sheet.png (a Trainer run folder)
    <results>/library.json   one row per job: status, attempts, seconds, steps, loss, error

Every node must see the results folder, the paintings and the content photos at the same paths
(one machine, or a shared filesystem such as NFS): tasks write their checkpoints there, which is
what lets a retry on another node resume. Ray is an optional extra
(``pip install "tinystyle-studio[cluster]"``), imported only when a library is trained.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
import tomllib
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from engine.card import ModelCard
from engine.errors import BackendUnavailableError, Cancelled, StudioError, TrainingError
from engine.io.files import write_bytes_atomic
from engine.progress import CancelToken, TrainCallbacks
from engine.training.config import CHECKPOINT_NAME, TRAIN_PRESETS, TrainConfig

SUMMARY_NAME = "library.json"
POLL_S = 0.25  # seconds between the driver's looks at the board and the tasks
STOP_POLL_S = 1.0  # seconds between a running task's looks for the stop mark
RAY_MISSING_HINT = 'pip install "tinystyle-studio[cluster]" (Ray)'


# -- recipes ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Recipe:
    """One style of a library: its name (the file's stem), painting, credits and config."""

    name: str
    path: Path  # the TOML file
    painting: Path
    credits: ModelCard  # title, artist, year, painting_source; name and steps come later
    config: TrainConfig

    @classmethod
    def load(cls, path: str | os.PathLike, paintings: str | os.PathLike | None = None
             ) -> Recipe:
        """Read ``path``; the painting is looked up in ``paintings`` (default: beside it)."""
        from engine.styles import check_name

        path = Path(path)
        try:
            with open(path, "rb") as f:
                data = tomllib.load(f)
            painting, train = dict(data["painting"]), dict(data["train"])
            file, preset = Path(painting["file"]), train.pop("preset")
        except OSError as exc:
            raise TrainingError(f"{path}: cannot read the recipe ({exc.strerror})") from None
        except tomllib.TOMLDecodeError as exc:
            raise TrainingError(f"{path}: not a TOML recipe ({exc})") from None
        except KeyError as exc:
            raise TrainingError(f"{path}: missing {exc.args[0]!r}",
                                hint="a recipe needs [painting] file and [train] preset "
                                     f"({', '.join(TRAIN_PRESETS)})") from None
        except (TypeError, ValueError):  # painting = "x" instead of a [painting] table
            raise TrainingError(f"{path}: [painting] and [train] must be tables") from None
        if preset not in TRAIN_PRESETS:
            raise TrainingError(f"{path}: unknown preset {preset!r}",
                                hint=f"use one of {', '.join(TRAIN_PRESETS)}")
        try:
            config = dataclasses.replace(TRAIN_PRESETS[preset], **train)
        except (TypeError, ValueError, StudioError) as exc:
            detail = exc.message if isinstance(exc, StudioError) else str(exc)
            raise TrainingError(f"{path}: bad [train] settings ({detail})",
                                hint="use TrainConfig field names and valid values") from None
        check_name(path.stem)
        folder = (Path(paintings) if paintings is not None else path.parent).absolute()
        credits = ModelCard(
            name=path.stem, title=str(painting.get("title", "")),
            artist=str(painting.get("artist", "")), year=str(painting.get("year", "")),
            painting_source="; ".join(
                text for text in (str(painting.get("source", file.name)),
                                  _licence(painting.get("image_licence"))) if text),
            description=f"trained by TinyStyle from the recipe {path.name}")
        return cls(path.stem, path, file if file.is_absolute() else folder / file, credits,
                   config)


def _licence(licence: object) -> str:
    return f"image licence: {licence}" if licence else ""


def find_recipes(sources: Iterable[str | os.PathLike]) -> list[Path]:
    """Recipe files among ``sources``: ``.toml`` files, and those directly in folders."""
    found: list[Path] = []
    for source in map(Path, sources):
        if source.is_dir():
            found += sorted(source.glob("*.toml"))
        elif source.is_file():
            found.append(source)
        else:
            raise TrainingError(f"{source}: no such recipe file or folder")
    if not found:
        raise TrainingError("no recipes (*.toml) found",
                            hint="pass recipe files or folders holding them")
    return found


# -- what a job is told and what it tells ------------------------------------------------------

@dataclass(frozen=True)
class LibrarySettings:
    """How every job of a library runs (the recipe says what it trains)."""

    results: Path  # one folder for the whole library; every node must see it
    content: Path | None = None  # content photos (None: the bundled set, on every node)
    cpus: float = 1.0  # CPU share per job; also its torch threads unless the recipe sets them
    gpus: float = 0.0  # GPU share per job: 0 trains on the CPU, 0.5 puts two jobs on a GPU
    retries: int = 2  # Ray retries a failed job this many times, from its last checkpoint
    resume: bool = False  # continue runs that already have a checkpoint in the results
    report_every_s: float = 10.0  # seconds between a job's progress events (0: every step)

    def __post_init__(self) -> None:
        if self.cpus <= 0 or not 0 <= self.gpus <= 1 or self.retries < 0:
            raise TrainingError("each job needs a CPU share > 0, a GPU share from 0 to 1 and "
                                "0 or more retries",
                                hint="one style trains on one device; several GPUs for one "
                                     "style: torchrun (README, Training at scale)")


@dataclass(frozen=True)
class JobEvent:
    """Something that happened to a job (or, with ``name`` empty, to the whole library)."""

    kind: str  # started, progress, attempt-failed, done, failed, cancelled, note
    name: str = ""
    attempt: int = 0
    step: int = 0
    total: int = 0
    loss: float = 0.0
    s_per_step: float = 0.0
    eta_s: float = 0.0
    node: str = ""
    pid: int = 0
    message: str = ""

    def format(self) -> str:
        """One console line."""
        who = f"[{self.name}] " if self.name else ""
        if self.kind == "started":
            where = f"resuming at step {self.step}" if self.step else "from scratch"
            return (f"{who}attempt {self.attempt} started on {self.node} (pid {self.pid}), "
                    f"{where}")
        if self.kind == "progress":
            eta = int(self.eta_s)
            return (f"{who}step {self.step}/{self.total} loss {self.loss:.4g} "
                    f"{self.s_per_step:.2f} s/step eta {eta // 60}:{eta % 60:02d}")
        if self.kind == "attempt-failed":
            return f"{who}attempt {self.attempt} failed: {self.message}"
        return f"{who}{self.kind}: {self.message}" if self.kind != "note" else who + self.message


@dataclass(frozen=True)
class JobOutcome:
    """How a job ended: ``status`` is done, failed or cancelled."""

    name: str
    status: str
    attempts: int = 0
    seconds: float = 0.0  # of its last attempt
    steps: int = 0
    loss: float | None = None  # total loss of the last step
    onnx: str = ""
    checkpoint: str = ""
    preview: str = ""
    error: str = ""

    def describe(self) -> str:
        if self.status == "done":
            return (f"{self.steps} steps in {self.seconds:.1f} s (attempt {self.attempts}) "
                    f"-> {self.onnx}")
        return self.error or self.status


class _Board:
    """A Ray actor the tasks post their events to and the driver drains.

    Tasks only ever send to it, never wait on it: a task blocked in ``ray.get`` lends its CPUs
    to the scheduler, which would then start more jobs than the shares allow.
    """

    def __init__(self) -> None:
        self.events: list[JobEvent] = []

    def post(self, event: JobEvent) -> None:
        self.events.append(event)

    def drain(self) -> list[JobEvent]:
        events, self.events = self.events, []
        return events


# -- the task ------------------------------------------------------------------------------

RUN_MARK = ".library-run"  # in a job's run folder: "<library run id> <attempts so far>"


def _stop_mark(results: Path, run_id: str) -> Path:
    """Created by the driver to ask every job of library run ``run_id`` to stop."""
    return results / f".library-stop-{run_id}"


def _next_attempt(run_dir: Path, run_id: str) -> int:
    """Count this start of a job in its run folder: 1, or more when Ray retries it (a job's
    attempts never overlap, and the folder outlives a lost worker, unlike the worker)."""
    mark = run_dir / RUN_MARK
    try:
        seen_id, seen = mark.read_text().split()
        attempts = int(seen) if seen_id == run_id else 0
    except (OSError, ValueError):
        attempts = 0
    write_bytes_atomic(mark, f"{run_id} {attempts + 1}\n".encode())
    return attempts + 1


class _Reporter(TrainCallbacks):
    """Posts progress every ``every`` seconds; cancels the run once the stop mark appears."""

    def __init__(self, board, name: str, attempt: int, batch_size: int, every: float,
                 stop: Path, token: CancelToken):
        self.board, self.name, self.attempt = board, name, attempt
        self.batch_size, self.every, self.stop, self.token = batch_size, every, stop, token
        self.sent = self.looked = float("-inf")
        self.loss: float | None = None

    def on_progress(self, step, total, losses, images_per_second, eta_s) -> None:
        self.loss = losses["total"]
        now = time.monotonic()
        if step == total or now - self.sent >= self.every:
            self.board.post.remote(JobEvent(
                "progress", self.name, self.attempt, step, total, losses["total"],
                self.batch_size / images_per_second, eta_s))
            self.sent = now
        if now - self.looked >= STOP_POLL_S:
            self.looked = now
            if self.stop.exists():
                self.token.cancel()


def train_job(recipe: Recipe, settings: LibrarySettings, run_id: str, board) -> JobOutcome:
    """One recipe, run by Ray on some node: train into ``results/<name>`` and say how it went.

    A StudioError (a bad painting, a bad setting) fails the job at once: it would fail the same
    way again. Anything else is raised for Ray to retry, which resumes the last checkpoint.
    """
    import ray

    from engine.logs import configure_console
    from engine.training.checkpoint import load_resumable
    from engine.training.trainer import Trainer

    configure_console(False)  # a worker's stray warnings would interleave with the progress
    node = ray.util.get_node_ip_address()
    run_dir = settings.results / recipe.name
    checkpoint = run_dir / CHECKPOINT_NAME
    config = recipe.config
    if not config.threads:  # the job's CPU share, not every core of the node
        config = dataclasses.replace(config, threads=max(1, round(settings.cpus)))
    started, attempt = time.monotonic(), 1
    try:
        if not recipe.painting.is_file():
            raise TrainingError(f"{recipe.painting}: painting not found on {node}",
                                hint="paintings, photos and results must be on a filesystem "
                                     "every node sees")
        attempt = _next_attempt(run_dir, run_id)
        # save_checkpoint keeps checkpoint.pt in place at every instant of a save
        resume = (settings.resume or attempt > 1) and checkpoint.is_file()
        start = load_resumable(checkpoint, announce=False)["step"] if resume else 0
        board.post.remote(JobEvent("started", recipe.name, attempt, start, config.steps,
                                   node=node, pid=os.getpid()))
        token = CancelToken()
        reporter = _Reporter(board, recipe.name, attempt, config.batch_size,
                             settings.report_every_s, _stop_mark(settings.results, run_id), token)
        result = Trainer(config, recipe.painting, settings.content, run_dir, reporter, token,
                         name=recipe.name, resume=resume, card=recipe.credits,
                         device=None if settings.gpus else "cpu").run()
    except Cancelled as exc:
        return JobOutcome(recipe.name, "cancelled", attempt, _since(started),
                          checkpoint=str(checkpoint), error=exc.message)
    except StudioError as exc:
        return JobOutcome(recipe.name, "failed", attempt, _since(started),
                          error=exc.message + (f" ({exc.hint})" if exc.hint else ""))
    except Exception as exc:
        board.post.remote(JobEvent("attempt-failed", recipe.name, attempt,
                                   message=f"{type(exc).__name__}: {exc}"))
        raise
    return JobOutcome(recipe.name, "done", attempt, _since(started), result.steps,
                      reporter.loss, str(result.onnx_path), str(result.checkpoint_path),
                      str(result.preview_path))


def _since(started: float) -> float:
    return round(time.monotonic() - started, 1)


# -- the driver ------------------------------------------------------------------------------

def import_ray() -> ModuleType:
    """Ray, or a BackendUnavailableError saying how to install it."""
    try:
        import ray
    except ImportError:
        raise BackendUnavailableError("training a style library needs Ray, which is not "
                                      "installed", hint=RAY_MISSING_HINT) from None
    return ray


def train_library(
    recipes: Sequence[Recipe],
    settings: LibrarySettings,
    *,
    address: str | None = None,
    num_cpus: int | None = None,
    on_event: Callable[[JobEvent], None] | None = None,
) -> list[JobOutcome]:
    """Train every recipe as its own Ray task; return the outcomes in recipe order.

    ``address``: None starts a local Ray instance on this machine (``num_cpus``: its CPUs,
    default all) unless this process is already connected to one; ``"auto"`` or
    ``"ray://head:10001"`` joins a running cluster. ``on_event`` sees every ``JobEvent``. The
    first KeyboardInterrupt asks each running job to checkpoint and stop (a later
    ``settings.resume`` run continues them); a second one abandons them.
    """
    ray = import_ray()
    names = Counter(recipe.name for recipe in recipes)
    if twice := sorted(name for name, n in names.items() if n > 1):
        raise TrainingError(f"two recipes named {', '.join(twice)}",
                            hint="each style of a library needs its own name")
    report = on_event or (lambda event: None)
    settings = dataclasses.replace(  # the tasks' working folder is not necessarily ours
        settings, results=settings.results.absolute(),
        content=settings.content.absolute() if settings.content else None)
    settings.results.mkdir(parents=True, exist_ok=True)
    run_id = uuid.uuid4().hex[:12]
    stop = _stop_mark(settings.results, run_id)
    ours = not ray.is_initialized()
    if ours:
        ray.init(address=address, num_cpus=num_cpus if address is None else None,
                 logging_level=logging.WARNING)
    started = time.monotonic()
    try:
        if ours and address is None:  # a cluster may still be adding nodes: Ray then waits
            _check_resources(ray.cluster_resources(), settings)
        board = ray.remote(num_cpus=0)(_Board).remote()
        task = ray.remote(num_cpus=settings.cpus, num_gpus=settings.gpus,
                          max_retries=settings.retries, retry_exceptions=True)(train_job)
        report(JobEvent("note", message=_plan(len(recipes), ray.cluster_resources(),
                                              settings)))
        refs = {task.options(name=f"train {r.name}").remote(r, settings, run_id, board): r
                for r in recipes}
        outcomes = _collect(ray, refs, board, stop, report)
    finally:
        stop.unlink(missing_ok=True)
        if ours:
            ray.shutdown()
    ordered = [outcomes[r.name] for r in recipes]
    write_summary(settings.results, ordered, time.monotonic() - started)
    return ordered


def _check_resources(cluster: dict, settings: LibrarySettings) -> None:
    """A share this machine can never offer would leave the jobs waiting forever."""
    cpus, gpus = cluster.get("CPU", 0), cluster.get("GPU", 0)
    if settings.cpus > cpus or settings.gpus > gpus:
        raise TrainingError(f"each job asks for {settings.cpus:g} CPUs and {settings.gpus:g} "
                            f"GPUs; this machine has {cpus:g} CPUs and {gpus:g} GPUs",
                            hint="lower --cpus-per-job / --gpus-per-job, or join a cluster "
                                 "(--address)")


def _plan(jobs: int, cluster: dict, settings: LibrarySettings) -> str:
    cpus, gpus = cluster.get("CPU", 0), cluster.get("GPU", 0)
    at_once = int(cpus // settings.cpus)
    if settings.gpus:
        at_once = min(at_once, int(gpus // settings.gpus))
    return (f"{jobs} job(s), {settings.cpus:g} CPU and {settings.gpus:g} GPU each, "
            f"{settings.retries} retries; cluster {cpus:g} CPUs, {gpus:g} GPUs: up to "
            f"{min(jobs, at_once)} at once; results in {settings.results}")


def _collect(ray: ModuleType, refs: dict, board, stop: Path,
             report: Callable[[JobEvent], None]) -> dict[str, JobOutcome]:
    """Wait for every task, passing on the board's events; KeyboardInterrupt: see above."""
    pending, outcomes, starts = list(refs), {}, Counter()
    stopping = False
    while pending:
        try:
            done, _ = ray.wait(pending, num_returns=1, timeout=POLL_S)
            for event in ray.get(board.drain.remote()):
                starts[event.name] += event.kind == "started"
                report(event)
            for ref in done:
                recipe = refs[ref]
                try:
                    outcome = ray.get(ref)
                except ray.exceptions.RayError as exc:  # its last retry failed too
                    outcome = JobOutcome(recipe.name, "failed", starts[recipe.name],
                                         error=_one_line(exc))
                outcomes[recipe.name] = outcome
                pending.remove(ref)
                report(JobEvent(outcome.status, recipe.name, outcome.attempts,
                                outcome.steps, outcome.steps, outcome.loss or 0.0,
                                message=outcome.describe()))
        except KeyboardInterrupt:
            if stopping:
                raise
            stopping = True
            write_bytes_atomic(stop, b"stop\n")
            report(JobEvent("note", message="stopping: each job checkpoints after its current "
                                            "step (Ctrl-C again to abandon them)"))
    return outcomes


def _one_line(exc: BaseException) -> str:
    """A failed task's error as one line: the original exception's last line, when Ray kept it
    (a RayTaskError's text is the whole remote traceback)."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, BaseException):
        return f"{type(cause).__name__}: {cause}".splitlines()[0][:300]
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[0] if lines else ''}"[:300]


def write_summary(results: Path, outcomes: Sequence[JobOutcome], seconds: float) -> Path:
    """``results/library.json``: the outcome of every job, and the library's wall time."""
    text = json.dumps({"seconds": round(seconds, 1),
                       "jobs": [dataclasses.asdict(o) for o in outcomes]}, indent=2)
    return write_bytes_atomic(results / SUMMARY_NAME, (text + "\n").encode())
