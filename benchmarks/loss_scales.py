"""Loss scales of PCMI's L_MSE: eq. 10 summed (``mse_reduction=sum``) against the element mean.

Two measurements, both at step 0 (fresh model, seed 0), for each reduction:

1. the `drkf` recipe (CPU scale, d 64) on the first training batch of synth's fold 1 (the batch
   `train_one` would draw first): every weighted loss term, its gradient norm on the shared
   parameters (adapters + fusion) and its share of their sum (`merbench.train.balance`), and the
   share of the classification term's gradient that survives clipping the total at 1.0;
2. the `drkf-paper-scale` recipe on random inputs of paper shapes (d 1024, batch 4, 349 audio
   frames, 32 tokens; forward only): the weighted terms and the ratio sum / mean of L_MSE.

    .venv/bin/python benchmarks/loss_scales.py            # both (the paper-scale forward ~1 min)
    .venv/bin/python benchmarks/loss_scales.py --no-paper-scale
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def synth_first_batch():
    """The first training batch of synth fold 1 with seed 0, as `train_one` draws it."""
    import numpy as np

    from merbench.experiment.recipes import load_recipe, resolve
    from merbench.features.store import FeatureStore
    from merbench.registry import DATASETS
    from merbench.train.batches import BatchMaker

    config = resolve(load_recipe("drkf"))
    corpus = DATASETS.build("synth").load(None)
    store = FeatureStore()
    audio = store.get(corpus, config.encoders.audio.build())
    text = store.get(corpus, config.encoders.text.build())
    train = config.train
    maker = BatchMaker(corpus, audio, text, train.max_frames, train.max_tokens)
    split = corpus.protocol.splits[0]
    batch = next(iter(maker.batches(split.train, train.batch_size, np.random.default_rng(0))))
    return config, batch, audio.dim, text.dim, len(corpus.protocol.labels)


def with_reduction(config, reduction: str):
    """`config` (a `ResolvedConfig`) with the PCMI loss's ``mse_reduction`` set to `reduction`."""
    from merbench.experiment.resolved import ResolvedConfig

    data = config.to_dict()
    data["components"]["augmentation"]["mse_reduction"] = reduction
    return ResolvedConfig.from_dict(data)


def step_zero(config, reduction: str, batch, dims: tuple[int, int, int]) -> dict:
    """Weighted terms, gradient norms and shares on the shared parameters, clipped EC share."""

    import torch

    from merbench.experiment.runner import model_factory
    from merbench.train.balance import gradient_norms
    from merbench.train.loop import seed_everything

    config = with_reduction(config, reduction)
    seed_everything(0)
    model = model_factory(config)(*dims)
    model.train()
    losses = model.losses(batch)
    terms = {k: v for k, v in losses.items() if k != "total"}
    params = model.shared_parameters()
    norms = gradient_norms(terms, params)
    losses["total"].backward()
    total_norm = float(
        torch.sqrt(sum(p.grad.pow(2).sum() for p in model.parameters() if p.grad is not None))
    )
    clip = min(1.0, 1.0 / total_norm) if total_norm > 0 else 1.0
    return {
        "values": {k: float(v.detach()) for k, v in terms.items()},
        "norms": norms,
        "shares": {k: n / sum(norms.values()) for k, n in norms.items()},
        "ec_after_clip": norms["ec"] * clip,
        "total_norm": total_norm,
    }


def paper_scale(reduction: str) -> dict[str, float]:
    """Weighted step-0 terms of drkf-paper-scale on random inputs of paper shapes (no grad)."""
    import torch

    from merbench.experiment.recipes import load_recipe, resolve
    from merbench.experiment.runner import model_factory
    from merbench.models.base import Batch

    config = with_reduction(resolve(load_recipe("drkf-paper-scale")), reduction)
    torch.manual_seed(0)
    model = model_factory(config)(1024, 1024, 4)
    batch = Batch.random(4, 349, 32, 1024, 1024)
    with torch.no_grad():
        return {k: float(v) for k, v in model.losses(batch).items() if k != "total"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-paper-scale", action="store_true")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    config, batch, da, dt, c = synth_first_batch()
    print("drkf recipe (d 64) on synth fold 1, first batch, step 0")
    print(f"{'reduction':>9} {'term':>12} {'value':>10} {'grad norm':>10} {'share %':>8}")
    for reduction in ("mean", "sum"):
        out = step_zero(config, reduction, batch, (da, dt, c))
        for term, value in out["values"].items():
            print(f"{reduction:>9} {term:>12} {value:10.4g} {out['norms'][term]:10.4g} "
                  f"{100 * out['shares'][term]:8.2f}")  # fmt: skip
        print(f"{reduction:>9} total gradient norm {out['total_norm']:.4g}; after clipping at 1.0 "
              f"the EC term's gradient norm on the shared parameters is "
              f"{out['ec_after_clip']:.3g}")  # fmt: skip
    if not args.no_paper_scale:
        print("\ndrkf-paper-scale on random inputs of paper shapes, step 0 (weighted terms)")
        scales = {r: paper_scale(r) for r in ("mean", "sum")}
        for reduction, terms in scales.items():
            print(f"{reduction:>9} " + ", ".join(f"{k} {v:.4g}" for k, v in terms.items()))
        print(f"L_MSE sum / mean = {scales['sum']['mse'] / scales['mean']['mse']:.3g}")


if __name__ == "__main__":
    main()
