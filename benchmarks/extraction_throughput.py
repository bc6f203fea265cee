"""Extraction throughput of the feature store: length-bucketed batches vs one utterance at a time.

For each encoder (the packaged MiniLM; small and tiny randomly initialised wav2vec2 models saved to
a temporary folder and loaded back by path), a synthetic corpus of N utterances of varied length
(0.5-8 s, 2-40 words) is extracted twice through `FeatureStore.get`, into fresh stores: once with
``max_batch=1`` (one forward per utterance) and once with the default length bucketing under the
memory budget. Both runs include reading audio and writing shards; model loading is done before
timing. Prints utterances per wall-clock second and per CPU second (steadier when other jobs share
the machine) and the ratios. ``--memory`` also extracts N and 4N utterances in fresh processes and
reports how much their RSS grows during extraction (bounded by the budget, not by the corpus).

    .venv/bin/python benchmarks/extraction_throughput.py --n 200
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

WORDS = (
    "i can't believe you did that we should talk about what happened yesterday at the station "
    "fine thank you so much for telling me first this is wonderful news no never again why would "
    "anyone say such a thing maybe tomorrow will be better honestly i do not know anymore"
).split()


def make_corpus(folder: Path, n: int, seed: int = 0):
    """`n` utterances: 0.5-8 s of noise or tones, 2-40 word texts (lengths drawn at random)."""
    import soundfile as sf

    from merbench.data.base import Corpus, Protocol, Split, Utterance

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    utts = []
    for i in range(n):
        seconds = float(rng.uniform(0.5, 8.0))
        samples = int(16000 * seconds)
        t = np.arange(samples) / 16000
        wave = 0.2 * np.sin(2 * np.pi * rng.uniform(100, 400) * t)
        wave += 0.05 * rng.standard_normal(samples)
        path = folder / f"u{i:05d}.wav"
        sf.write(path, wave.astype(np.float32), 16000)
        text = " ".join(rng.choice(WORDS, size=int(rng.integers(2, 41))))
        utts.append(Utterance(f"u{i:05d}", "s0", "g0", text, path, "neutral"))
    ids = tuple(u.id for u in utts)
    split = Split("all", train=ids, dev=(), test=())
    protocol = Protocol(("neutral",), (split,), ("ua",), "given")
    return Corpus(name=f"bench{n}", utterances=utts, protocol=protocol, root=folder)


#: Randomly initialised wav2vec2 sizes: (conv channels, hidden, layers). Both keep the real front
#: end geometry (7 convolutions, stride 320: 50 frames/s).
SIZES = {"small": (256, 256, 4), "tiny": (32, 64, 2)}


def save_small_wav2vec2(folder: Path, norm: str = "layer", size: str = "small") -> Path:
    """A randomly initialised wav2vec2 of `size` (see `SIZES`), saved with save_pretrained."""
    import torch
    import transformers

    channels, hidden, layers = SIZES[size]
    torch.manual_seed(0)
    config = transformers.Wav2Vec2Config(
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=4,
        intermediate_size=4 * hidden,
        conv_dim=(channels,) * 7,
        feat_extract_norm=norm,
        do_stable_layer_norm=norm == "layer",
        num_conv_pos_embeddings=32,
        num_conv_pos_embedding_groups=4,
        vocab_size=8,
    )
    transformers.Wav2Vec2Model(config).save_pretrained(folder)
    transformers.Wav2Vec2FeatureExtractor(
        do_normalize=True, return_attention_mask=norm == "layer"
    ).save_pretrained(folder)
    return folder


def build(spec: str, work: Path):
    from merbench.encoders import build_encoder

    if spec == "minilm":
        return build_encoder("minilm")
    # wav2vec2[-tiny][-group]: small or tiny size, layer norm (as large-robust) or group norm
    norm = "group" if spec.endswith("-group") else "layer"
    size = "tiny" if "-tiny" in spec else "small"
    folder = work / f"w2v-{size}-{norm}"
    if not folder.exists():
        save_small_wav2vec2(folder, norm, size)
    return build_encoder(f"hf:{folder}")


def warm_up(encoder) -> None:
    if encoder.modality == "text":
        encoder.encode(["warm up"])
    else:
        encoder.encode([np.zeros(16000, np.float32)])
    encoder.forward_calls = 0


def timed_extraction(corpus, encoder, root: Path, **store_options) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (all threads of this process) and forward passes of one
    extraction into a fresh store. CPU time is the steadier measure on a shared machine."""
    from merbench.features.store import FeatureStore

    store = FeatureStore(root, **store_options)
    before = encoder.forward_calls
    start, cpu = time.perf_counter(), time.process_time()
    feats = store.get(corpus, encoder)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    assert len(feats) == len(corpus)
    return seconds, cpu, encoder.forward_calls - before


def current_rss() -> int:
    """Resident set size of this process in bytes (Linux /proc)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peak_rss_child(spec: str, work: str, n: int, memory_mb: float, queue) -> None:
    """In a fresh process: extract `n` utterances, sampling RSS every 5 ms; report (RSS before
    the extraction, peak RSS during it), in bytes."""
    import threading

    corpus = make_corpus(Path(work) / f"corpus-{n}", n, seed=1)
    encoder = build(spec, Path(work))
    warm_up(encoder)
    before, peak, stop = current_rss(), [0], threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], current_rss())
            time.sleep(0.005)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    timed_extraction(corpus, encoder, Path(work) / f"mem-{n}", memory_mb=memory_mb)
    stop.set()
    sampler.join()
    queue.put((before, max(peak[0], current_rss())))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="utterances in the corpus")
    parser.add_argument(
        "--encoders",
        default="minilm,wav2vec2,wav2vec2-tiny",
        help="comma list of minilm, wav2vec2, wav2vec2-tiny, wav2vec2-group, wav2vec2-tiny-group",
    )
    parser.add_argument("--memory-mb", type=float, default=2048, help="extraction memory budget")
    parser.add_argument("--memory", action="store_true", help="also measure peak RSS, N vs 4N")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads (1: stable on a shared machine)"
    )
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    print(f"torch threads: {torch.get_num_threads()}, utterances: {args.n}")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        corpus = make_corpus(work / "corpus", args.n)
        for spec in args.encoders.split(","):
            encoder = build(spec, work)
            warm_up(encoder)
            single_s, single_cpu, single_calls = timed_extraction(
                corpus, encoder, work / f"s-{spec}", max_batch=1
            )
            bucket_s, bucket_cpu, bucket_calls = timed_extraction(
                corpus, encoder, work / f"b-{spec}", memory_mb=args.memory_mb
            )
            n = args.n
            print(
                f"{spec:14s} one-at-a-time {n / single_s:6.1f} utt/s wall, "
                f"{n / single_cpu:6.1f} utt/CPU-s ({single_calls} forwards) | bucketed "
                f"{n / bucket_s:6.1f} utt/s wall, {n / bucket_cpu:6.1f} utt/CPU-s "
                f"({bucket_calls} forwards) | ratio {single_s / bucket_s:4.2f}x wall, "
                f"{single_cpu / bucket_cpu:4.2f}x CPU"
            )
            if args.memory:
                ctx = mp.get_context("spawn")
                for n in (args.n, 4 * args.n):
                    queue = ctx.Queue()
                    child = ctx.Process(
                        target=peak_rss_child, args=(spec, tmp, n, args.memory_mb, queue)
                    )
                    child.start()
                    before, peak = queue.get()
                    child.join()
                    print(
                        f"{spec:14s} {n:5d} utterances: RSS {before / 2**20:7.1f} MB before "
                        f"extraction, peak {peak / 2**20:7.1f} MB during it: "
                        f"+{(peak - before) / 2**20:6.1f} MB (budget {args.memory_mb:.0f} MB)"
                    )


if __name__ == "__main__":
    main()
