"""Dev and test curves of whole runs, for choosing the model-selection rule on dev.

Trains a recipe (with ``--set`` overrides) on every split of a corpus for `--epochs` epochs
*without early stopping* and writes, per (split, seed), the dev and the test headline metric of
every epoch to a JSON file. `--rules` then replays selection rules on the dev curves only (the
epoch each rule keeps) and reports what they keep: the dev score at that epoch, the mean dev
score of the surrounding 5 epochs (a less noisy estimate of the same quantity), and, as the
consequence only, the test score there. No rule is ever chosen on the test column.

    python benchmarks/selection_curves.py --dataset emodb --data-root $MERBENCH_EMODB \\
        --recipe audio-only --epochs 60 --seeds 0,1,2 --out curves.json
    python benchmarks/selection_curves.py --rules curves.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
from statistics import fmean, pstdev

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def run_curves(args: argparse.Namespace) -> list[dict]:
    """One record per (split, seed): ``{"split", "seed", "dev": [...], "test": [...]}``."""
    import torch

    from merbench.cli.app import parse_pairs
    from merbench.encoders import build_encoder
    from merbench.experiment.recipes import apply_overrides, load_recipe, resolve
    from merbench.experiment.runner import model_factory
    from merbench.features.manage import open_store
    from merbench.registry import DATASETS
    from merbench.train.batches import BatchMaker
    from merbench.train.loop import predict, score, train_one

    torch.set_num_threads(1)
    recipe = load_recipe(args.recipe)
    sets = parse_pairs(args.set, "--set") | {
        "train.max_epochs": args.epochs,
        "train.patience": args.epochs,
    }
    apply_overrides(recipe, sets)
    config = resolve(recipe)
    corpus = DATASETS.build(args.dataset).load(args.data_root)
    store = open_store(None)
    audio = store.get(corpus, build_encoder(config.encoders.audio))
    text = store.get(corpus, build_encoder(config.encoders.text))
    metric = corpus.protocol.headline_metrics[0]
    records = []
    for split in corpus.protocol.splits:
        split = split.keep(set(audio.ids) & set(text.ids))
        for seed in args.seeds:
            built = []

            def make(*dims, built=built):
                built.append(model_factory(config)(*dims))
                return built[-1]

            tests: list[float] = []

            def on_epoch(row, built=built, tests=tests, split=split):
                maker = BatchMaker(corpus, audio, text, config.train.max_frames)
                probs, _ = predict(built[0], maker, split.test, 64, "cpu")
                tests.append(score(maker, split.test, probs, (metric,))[metric])

            if config.train.speaker_norm:  # the test scoring above reads raw features
                raise SystemExit("speaker_norm: not supported by this study script")
            result = train_one(
                make, corpus, split, audio, text, config.train, seed, on_epoch=on_epoch
            )
            dev = [row[f"dev/{metric}"] for row in result.curves]
            records.append({"split": split.name, "seed": seed, "dev": dev, "test": tests})
            print(f"{split.name} seed {seed}: best dev {max(dev):.3f} at {dev.index(max(dev))}")
    return records


def select(dev: list[float], patience: int, min_epochs: int, smooth: int) -> int:
    """The epoch `merbench.train.selection.Selection` keeps on the curve `dev`."""
    from merbench.train.config import TrainConfig
    from merbench.train.selection import Selection

    config = TrainConfig(
        max_epochs=len(dev), patience=patience, min_epochs=min_epochs, smooth=smooth
    )
    selection = Selection(config, {})
    for epoch, value in enumerate(dev):
        selection.add(epoch, value, {})
        if selection.stop():
            break
    selection.finish()
    return selection.best_epoch


def replay(records: list[dict]) -> None:
    """Print, per rule, the mean over runs of dev / dev-5 / test at the epoch the rule keeps."""
    noise = [pstdev([b - a for a, b in zip(r["dev"], r["dev"][1:], strict=False)]) for r in records]
    epochs = len(records[0]["dev"])
    print(f"{len(records)} runs of {epochs} epochs; epoch-to-epoch dev change: std "
          f"{100 * fmean(noise):.1f} UA points")  # fmt: skip
    print("| patience | min_epochs | smooth | epoch kept | dev | dev (5-epoch mean) | test |")
    print("|--:|--:|--:|--:|--:|--:|--:|")
    for patience in (4, 6, 10, 20, epochs):
        for min_epochs in (0, 10, 20):
            for smooth in (1, 3, 5):
                kept, dev, dev5, test = [], [], [], []
                for r in records:
                    e = select(r["dev"], patience, min_epochs, smooth)
                    window = r["dev"][max(0, e - 2) : e + 3]
                    kept.append(e)
                    dev.append(r["dev"][e])
                    dev5.append(fmean(window))
                    test.append(r["test"][e])
                print(
                    f"| {patience} | {min_epochs} | {smooth} | {fmean(kept):.1f} | "
                    f"{100 * fmean(dev):.1f} | {100 * fmean(dev5):.1f} | {100 * fmean(test):.1f} |"
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", default="synth")
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--recipe", default="audio-only")
    parser.add_argument("--set", action="append", default=[])
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--out", default="curves.json")
    parser.add_argument("--rules", default=None, help="replay rules on this curves file")
    args = parser.parse_args()
    if args.rules:
        with open(args.rules) as f:
            replay(json.load(f)["records"])
        return
    args.seeds = [int(s) for s in args.seeds.split(",")]
    records = run_curves(args)
    with open(args.out, "w") as f:
        json.dump({"args": vars(args), "records": records}, f)
    if not math.isnan(records[0]["dev"][0]):
        replay(records)


if __name__ == "__main__":
    main()
