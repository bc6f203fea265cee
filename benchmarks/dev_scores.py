"""Dev scores of the configurations in an MLflow store, for choosing settings on dev only.

Prints, per configuration (its row name and config key), the number of finished runs and the
mean over them of a dev metric (the dev score of the kept weights, as each run logged it), and,
with ``--against KEY``, the mean paired difference to configuration KEY over the (split, seed)
units both have, its standard deviation and how many units it wins. Test metrics are never read.

    python benchmarks/dev_scores.py --tracking-uri sqlite:///explore.db --seeds 0
    python benchmarks/dev_scores.py --tracking-uri sqlite:///explore.db --against b7948893
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from statistics import fmean, stdev


def dev_scores(uri: str, metric: str, seeds: set[str] | None) -> dict:
    """``(readable name, config key) -> {(split, seed): value}`` over the finished runs of `uri`
    (one entry per config key, named by the first readable name its runs carry: the recipe and
    its overrides, or the grid row)."""
    import mlflow

    client = mlflow.tracking.MlflowClient(uri)
    experiment = client.get_experiment_by_name("merbench")
    if experiment is None:
        raise SystemExit(f"error: {uri} holds no merbench runs")
    units: dict = defaultdict(dict)
    names: dict[str, str] = {}
    for run in client.search_runs([experiment.experiment_id], max_results=50_000):
        tags = run.data.tags
        if run.info.status != "FINISHED" or f"dev/{metric}" not in run.data.metrics:
            continue
        if seeds is not None and tags.get("merbench.seed") not in seeds:
            continue
        name = tags.get("merbench.readable") or tags.get("merbench.name", "?")
        key = tags.get("merbench.config_key", "?")
        names.setdefault(key, name)
        unit = (tags.get("merbench.split"), tags.get("merbench.seed"))
        units[key][unit] = run.data.metrics[f"dev/{metric}"]
    return {(names[key], key): values for key, values in units.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tracking-uri", required=True)
    parser.add_argument("--metric", default="ua")
    parser.add_argument("--seeds", default="", help="comma-separated seeds (default: all)")
    parser.add_argument("--against", default="", help="config key (prefix) to pair with")
    args = parser.parse_args()
    seeds = {s for s in args.seeds.split(",") if s} or None
    scores = dev_scores(args.tracking_uri, args.metric, seeds)
    base = next(
        (u for (_, k), u in scores.items() if args.against and k.startswith(args.against)), {}
    )
    for (name, key), units in sorted(scores.items()):
        line = f"{name:90s} {key[:8]}  runs {len(units):3d}  dev {args.metric} "
        line += f"{100 * fmean(units.values()):5.1f}"
        common = sorted(set(units) & set(base))
        if len(common) > 1 and units is not base:
            diff = [100 * (units[u] - base[u]) for u in common]
            wins = sum(d > 0 for d in diff)
            line += f"  vs {args.against[:8]}: {fmean(diff):+5.1f} (sd {stdev(diff):.1f}, "
            line += f"{wins}/{len(diff)} units better)"
        print(line)


if __name__ == "__main__":
    main()
