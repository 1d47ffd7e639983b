"""`tinystyle styles`: the table and the JSON list."""

from __future__ import annotations

import json
from pathlib import Path

from model_cases import TINY_STYLE

from engine.models.config import net_preset
from engine.models.transformer import TransformerNet, count_weights

JSON_KEYS = {"name", "title", "artist", "preset", "weights", "path", "bundled", "size_bytes"}


def test_json_lists_the_user_style(run_cli, user_style):
    code, out, err = run_cli("styles", "--json")
    assert code == 0, err
    records = json.loads(out)
    assert all(record.keys() >= JSON_KEYS for record in records)
    mine = next(r for r in records if r["name"] == TINY_STYLE)
    assert mine["title"] == "Test Pattern" and mine["artist"] == "Nobody"
    assert mine["preset"] == "seed-tiny" and mine["bundled"] is False
    assert mine["weights"] == count_weights(TransformerNet(net_preset("seed-tiny")))
    assert Path(mine["path"]) == user_style.path
    assert mine["size_bytes"] == user_style.path.stat().st_size
    for record in records:
        assert Path(record["path"]).is_file()


def test_table_shows_painting_artist_preset_weights_and_size(run_cli, user_style):
    code, out, _ = run_cli("styles")
    assert code == 0
    header, *rows = out.splitlines()
    assert header.split() == ["NAME", "PAINTING", "ARTIST", "PRESET", "WEIGHTS", "SIZE", "SOURCE"]
    row = next(r for r in rows if r.startswith(TINY_STYLE + " "))
    size_kb = f"{user_style.path.stat().st_size / 1024:.1f} KB"
    for cell in ["Test Pattern (2024)", "Nobody", "seed-tiny", f"{user_style.weights:,}", size_kb,
                 "user"]:
        assert cell in row, (cell, row)


def test_json_is_a_list_even_when_empty(run_cli, monkeypatch):
    monkeypatch.setattr("engine.styles.list_styles", lambda: [])
    code, out, _ = run_cli("styles", "--json")
    assert code == 0 and json.loads(out) == []


def test_missing_bundled_resources_are_an_error(run_cli, monkeypatch):
    """A broken install says what is missing; it never looks like an empty gallery."""
    monkeypatch.setattr("engine.io.paths.RESOURCES_PACKAGE", "tinystyle_resources_gone")
    code, out, err = run_cli("styles")
    assert code == 2 and out == ""
    assert err.startswith("error: ") and "missing from this install" in err
