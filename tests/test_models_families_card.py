"""The paper numbers of the conv_grbm, isa and siamese_transformation families (results/paper_results_families.json)
name registered full-size models, carry their source, and say that they are unverified."""

from __future__ import annotations

import json
from pathlib import Path

from vidzoo import list_models

REPO = Path(__file__).resolve().parents[1]


def test_family_paper_results_are_well_formed():
    data = json.loads((REPO / "results" / "paper_results_families.json").read_text())
    entries = {k: v for k, v in data.items() if not k.startswith("_")}
    assert set(entries) == {"conv_grbm", "isa", "siamese_transformation"}
    registered = set(list_models())
    for name, entry in entries.items():
        assert name in registered and not name.endswith("_small"), name
        assert set(entry) == {"ucf101", "hmdb51", "pretraining", "source", "note", "deviations"}, name
        assert entry["deviations"] and all(isinstance(d, str) and d for d in entry["deviations"]), name
        for key in ("ucf101", "hmdb51"):
            assert entry[key] is None or 0 < entry[key] <= 100, (name, key)
        assert entry["source"] and "unverified" in entry["note"], name
