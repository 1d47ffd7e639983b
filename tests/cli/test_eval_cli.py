"""`tinystyle eval`: the judge, the artefact checks and the alike column, in text and JSON."""

from __future__ import annotations

import json

from engine.training import artefacts


def test_eval_reports_judge_and_artefacts_per_model(run_cli, tiny_model, bundled_photos,
                                                    shared_data):
    painting = shared_data / "styles" / "hokusai-great-wave.jpg"
    args = ("eval", tiny_model, "great-wave", "--content", bundled_photos[0],
            "--style", painting, "--size", "64")
    code, out, err = run_cli(*args, "--json")
    assert code == 0, err
    results = json.loads(out)
    assert [r["nearest"] for r in results] == ["great-wave", str(tiny_model)]
    for r in results:
        assert set(r["checks"]) == set(artefacts.CHECKS) == set(r["seen"])
        assert all(0 <= n <= r["images"] == 1 for n in r["seen"].values())
    code, out, err = run_cli(*args, "--keep-colours")
    assert code == 0, err
    table, checks = out.split("\n\n")
    assert table.splitlines()[0].split()[:3] == ["model", "judge", "/photo"]
    assert checks.splitlines()[1].split()[-3:] == ["edge", "line", "alike"]
    assert checks.splitlines()[-1].split()[-2] == str(tiny_model)


def test_eval_of_the_peer_with_keep_colours_is_a_clear_error(run_cli, bundled_photos,
                                                             shared_data):
    code, out, err = run_cli("eval", "multistyle26:19", "--keep-colours", "--content",
                             bundled_photos[0], "--style",
                             shared_data / "styles" / "van-gogh-starry-night.jpg")
    assert code != 0 and "keep colours" in err and "Traceback" not in err
