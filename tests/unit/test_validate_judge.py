"""scripts/validate_judge.py: runs are chosen on photos that neither trained nor test them."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).parents[2] / "scripts" / "validate_judge.py"
spec = importlib.util.spec_from_file_location("validate_judge", SCRIPT)
validate_judge = importlib.util.module_from_spec(spec)
spec.loader.exec_module(validate_judge)


def test_validation_photos_are_unseen_and_apart_from_the_test_photos(shared_data, bundled_photos):
    picked = validate_judge.validation_photos()
    names = {p.name for p in picked}
    assert len(names) == 20 and all(p.is_file() for p in picked)
    assert not names & {p.name for p in bundled_photos}  # not trained on
    assert not names & {f"{n}.jpg" for n in validate_judge.PHOTOS}  # not the test photos
    assert validate_judge.validation_photos() == picked  # the same set every time
