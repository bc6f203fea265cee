"""Loader scale check: IEMOCAP and MELD layouts at the size of the real releases, loaded in seconds.

Builds, in a temporary folder, an IEMOCAP_full_release with the real per-session 4-class counts
(1085, 1023, 1151, 1031, 1241 = 5,531, plus fru/xxx/sur/fea utterances the protocol excludes) and a
MELD.Raw with 9,989 / 1,109 / 2,610 rows, every media file present but empty: the loaders only
check that media exist (one directory listing per folder; decoding is `datasets check`'s job), so
empty files exercise the real cost of loading. Prints build and load times and asserts the counts.

    .venv/bin/python benchmarks/corpus_loading.py
"""

from __future__ import annotations

import tempfile
import time
from collections import Counter
from pathlib import Path


def main() -> None:
    from merbench.data.iemocap import IemocapConfig, IemocapCorpus
    from merbench.data.meld import MeldConfig, MeldCorpus
    from merbench.data.testing import (
        iemocap_release_like,
        meld_release_like,
        write_iemocap,
        write_meld,
    )

    with tempfile.TemporaryDirectory(prefix="merbench-bench-") as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        utts = iemocap_release_like()
        write_iemocap(root / "iemocap", utts, audio="empty")
        t_build = time.perf_counter() - t0
        t0, c0 = time.perf_counter(), time.process_time()
        corpus = IemocapCorpus(IemocapConfig()).load(root / "iemocap")
        t_load, c_load = time.perf_counter() - t0, time.process_time() - c0
        per_session = Counter(u.group for u in corpus.utterances)
        print(
            f"IEMOCAP: {len(utts)} annotated utterances written in {t_build:.1f} s; "
            f"4-class load {t_load:.2f} s wall, {c_load:.2f} s CPU: {len(corpus)} utterances, per session "
            f"{[per_session[f'Ses0{s}'] for s in range(1, 6)]}, excluded {corpus.excluded}, "
            f"skipped {len(corpus.skipped)}"
        )
        assert len(corpus) == 5531
        assert [per_session[f"Ses0{s}"] for s in range(1, 6)] == [1085, 1023, 1151, 1031, 1241]
        six = IemocapCorpus(IemocapConfig(classes="6class")).load(root / "iemocap")
        print(
            f"IEMOCAP 6-class: {len(six)} utterances {dict(Counter(u.label for u in six.utterances))}"
        )

        t0 = time.perf_counter()
        rows = meld_release_like({"train": 9989, "dev": 1109, "test": 2610})
        write_meld(root / "meld", rows, media="empty")
        t_build = time.perf_counter() - t0
        t0, c0 = time.perf_counter(), time.process_time()
        meld = MeldCorpus(MeldConfig()).load(root / "meld")
        t_load, c_load = time.perf_counter() - t0, time.process_time() - c0
        split = meld.protocol.split("official")
        sizes = (len(split.train), len(split.dev), len(split.test))
        print(
            f"MELD: {sum(len(r) for r in rows.values())} rows written in {t_build:.1f} s; "
            f"load {t_load:.2f} s wall, {c_load:.2f} s CPU: train/dev/test {sizes}, skipped {len(meld.skipped)}"
        )
        assert sizes == (9989, 1109, 2610)
        t0 = time.perf_counter()
        fingerprint = meld.fingerprint()
        print(f"MELD fingerprint {fingerprint[:12]} in {time.perf_counter() - t0:.2f} s")


if __name__ == "__main__":
    main()
