"""Run keys of the built-in recipes and grid rows do not change when the code that resolves and
serialises a configuration changes: a finished sweep must stay finished.

`tests/golden/run_keys.json` was recorded before the resolved config became a typed object
(`merbench.experiment.resolved`); every (dataset, configuration, variant) of the catalogue is
planned on small corpora in the releases' layouts (empty media: the fingerprint hashes their
bytes) and its config key and first run key are compared with it. After a deliberate change of
identity, regenerate with ``MERBENCH_REGEN_GOLDEN=1``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from merbench.data.testing import (
    IemocapUtt,
    MeldRow,
    write_emodb,
    write_iemocap,
    write_m3ed,
    write_meld,
)
from merbench.experiment.modalities import reads, speech_only
from merbench.experiment.plan import DatasetRef, load_corpus, plan
from merbench.experiment.recipes import VARIANTS, configurations, list_catalogue

GOLDEN = Path(__file__).resolve().parent / "golden" / "run_keys.json"


def _corpora(root: Path) -> dict[str, Path]:
    iemocap = [IemocapUtt(f"Ses0{s}F_impro01_F{i:03d}", ("neu", "sad")[i % 2]) for s in range(1, 6)
               for i in range(4)]  # fmt: skip
    meld = {
        s: [MeldRow(0, i, ("joy", "anger")[i % 2]) for i in range(4)]
        for s in ("train", "dev", "test")
    }
    movies = {m: {f"{m}_1": [(f"{m}_1_{u}", "A", "Happy", "Happy") for u in range(1, 4)]}
              for m in ("Anjia", "Huanle", "Qiao")}  # fmt: skip
    splits = {"train": ["Anjia"], "val": ["Huanle"], "test": ["Qiao"]}
    return {
        "iemocap": write_iemocap(root / "i", iemocap, audio="empty"),
        "meld": write_meld(root / "me", meld, media="empty"),
        "m3ed": write_m3ed(root / "m3", movies, splits, audio="empty"),
        "emodb": write_emodb(root / "e", sentences=("a01",), audio="empty"),
    }


def _configurations() -> list:
    confs = []
    for variant in VARIANTS:
        for recipe in list_catalogue("baselines"):
            confs += [(variant, c) for c in configurations(recipe=recipe, variant=variant)]
        for grid in list_catalogue("grids"):
            confs += [(variant, c) for c in configurations(grid=grid, variant=variant)]
    return confs


def compute_keys(root: Path) -> dict[str, dict[str, list[str]]]:
    """dataset -> ``<variant>/<grid>/<name>`` -> [config key, run key of split 1 seed 0]."""
    confs = _configurations()
    out: dict[str, dict[str, list[str]]] = {}
    for name, folder in _corpora(root).items():
        ref = DatasetRef(name, str(folder))
        corpus = load_corpus(ref)
        usable = [
            (v, c) for v, c in confs if not speech_only(corpus) or "text" not in reads(c.config)
        ]
        keys = out.setdefault(name, {})
        for variant, conf in usable:
            task = plan([conf], ref, corpus, (0,), device="cpu", tracking_uri="", cache_dir=None)[0]
            keys[f"{variant or 'default'}/{conf.grid or '-'}/{conf.name}"] = [
                task.config_key,
                task.run_key,
            ]
    return out


def test_run_keys_of_the_catalogue_are_unchanged(tmp_path: Path) -> None:
    keys = compute_keys(tmp_path)
    if os.environ.get("MERBENCH_REGEN_GOLDEN"):
        GOLDEN.write_text(json.dumps(keys, indent=1, sort_keys=True) + "\n")
    golden = json.loads(GOLDEN.read_text())
    assert sorted(keys) == ["emodb", "iemocap", "m3ed", "meld"]
    assert {d: sorted(k) for d, k in keys.items()} == {d: sorted(k) for d, k in golden.items()}
    assert keys == golden
