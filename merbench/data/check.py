"""`merbench datasets check`: validate a corpus without training.

`check_corpus(name, root, **options)` loads the corpus with its loader (which checks layout, labels,
text and media existence), then decodes every utterance's audio (the deep check the loaders skip)
and returns a `CheckReport`: counts per split and class, what the loader skipped with reasons,
what the protocol excluded, unreadable or empty media, what the copy lacks against the release's
expected counts, the loader's notes, or the one fatal error that stopped loading.
`render_check(report)` formats it as plain text for the CLI. `detect_corpus(root)` guesses the
corpus type from the layout when no name is given.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from merbench.data.base import Corpus, Skip
from merbench.data.confound import speaker_label_confound
from merbench.data.consistency import protocol_problems
from merbench.errors import UserError

#: Sample rate at which the deep check decodes (any rate would do; 16 kHz is what encoders use).
CHECK_SAMPLE_RATE = 16_000


@dataclass
class CheckReport:
    """What `check_corpus` found. `ok` is True when nothing was skipped, unreadable, short of
    the release or fatal."""

    name: str
    root: str
    options: dict[str, Any] = field(default_factory=dict)
    error: str | None = None  # the UserError that stopped loading, if any
    utterances: int = 0
    labels: tuple[str, ...] = ()
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # "fold1/test" -> label -> n
    group_counts: dict[str, dict[str, int]] = field(default_factory=dict)  # session -> label -> n
    skipped: list[Skip] = field(default_factory=list)
    excluded: dict[str, int] = field(default_factory=dict)
    unreadable: list[Skip] = field(default_factory=list)  # decoding failures, reason = message
    shortfall: list[str] = field(default_factory=list)  # against the card's release counts
    notes: list[str] = field(default_factory=list)  # the loader's notes (not problems)
    decoded: int = 0
    audio_seconds: float = 0.0
    elapsed: float = 0.0
    dev_rule: str = ""
    confound: str = ""  # how far speaker and label go together (`merbench.data.confound`)

    @property
    def ok(self) -> bool:
        return (
            self.error is None and not self.skipped and not self.unreadable and not self.shortfall
        )

    def skip_counts(self) -> dict[str, int]:
        """Skips and unreadable media per category (the part of the reason before the colon)."""
        cats = Counter(s.reason.split(":", 1)[0] for s in self.skipped)
        if self.unreadable:
            cats["unreadable audio"] += len(self.unreadable)
        if self.shortfall:
            cats["short of the release"] += 1
        return dict(cats)


def detect_corpus(root: Path | str) -> str:
    """The corpus type of the folder (or manifest file) `root`, from its layout."""
    root = Path(root).expanduser()
    if not root.exists():
        raise UserError(f"{root}: no such file or folder")
    if root.is_file():
        if root.suffix.lower() in (".csv", ".parquet", ".pq"):
            return "manifest"
        raise UserError(f"{root}: not a corpus folder or a manifest (.csv/.parquet)")
    markers = (
        ("iemocap", ("Session1/dialog", "IEMOCAP_full_release/Session1/dialog")),
        ("meld", ("train_sent_emo.csv", "MELD.Raw/train_sent_emo.csv")),
        ("m3ed", ("annotation.json", "M3ED/annotation.json")),
        ("manifest", ("manifest.csv", "manifest.parquet")),
        ("synth", ("utterances.json",)),
        ("ravdess", ("Actor_01", "Audio_Speech_Actors_01-24/Actor_01")),
        ("cremad", ("AudioWAV", "CREMA-D/AudioWAV")),
        (
            "tess",
            ("OAF_angry", "TESS/OAF_angry", "TESS Toronto emotional speech set data/OAF_angry"),
        ),
        ("emodb", ("wav/03a01Fa.wav", "emodb/wav/03a01Fa.wav")),
    )
    for name, paths in markers:
        if any((root / p).exists() for p in paths):
            return name
    raise UserError(
        f"{root}: cannot tell the corpus type from the layout (expected IEMOCAP_full_release, "
        "MELD.Raw, M3ED, RAVDESS Actor_NN/, CREMA-D AudioWAV/, TESS, EmoDB wav/ or a manifest); "
        "pass --name"
    )


def check_corpus(
    name: str | None,
    root: Path | str | None,
    *,
    decode: bool = True,
    progress: Callable[[int, int], None] | None = None,
    **options: Any,
) -> CheckReport:
    """Validate corpus `name` (autodetected from `root` when None) with loader `options`.

    Loader errors (malformed lines, unknown labels, missing folders, ...) end the check and are
    returned as `CheckReport.error`, not raised; an unknown corpus name or option still raises.
    With `decode`, every utterance's audio is decoded (`progress(done, total)` after each).
    """
    from merbench.registry import DATASETS

    start = time.perf_counter()
    if name is None:
        if root is None:
            raise UserError("datasets check: give the corpus folder or --name")
        name = detect_corpus(root)
    if name == "synth" and root is not None and "cache" not in options:
        # a generated corpus folder (synth-<hash>/) or the folder holding them
        root = Path(root).expanduser()
        options["cache"] = str(root)
        if (root / "config.json").exists():  # one generated corpus: check it with its own config
            saved = json.loads((root / "config.json").read_text())["config"]
            options.update({k: v for k, v in saved.items() if k != "cache"}, cache=str(root.parent))
    loader = DATASETS.build(name, **options)
    report = CheckReport(name=name, root=str(root or ""), options=dict(options))
    try:
        corpus = loader.load(Path(root) if root is not None else None)
    except UserError as exc:
        report.error = str(exc)
        report.elapsed = time.perf_counter() - start
        return report
    _fill_counts(report, corpus)
    # a class absent from train stops `run` (preflight), not the check of a partial corpus
    problems = protocol_problems(corpus, every_class=False)
    if problems:
        report.error = problems[0] + (f" (and {len(problems) - 1} more)" if problems[1:] else "")
    if decode:
        _decode_all(report, corpus, progress)
    report.elapsed = time.perf_counter() - start
    return report


def _fill_counts(report: CheckReport, corpus: Corpus) -> None:
    report.root = str(corpus.root or report.root)
    report.utterances = len(corpus)
    report.labels = corpus.protocol.labels
    report.dev_rule = corpus.protocol.dev_rule
    report.counts = {k: dict(v) for k, v in corpus.counts().items()}
    groups: dict[str, Counter] = {}
    if len(corpus.protocol.splits) > 1:  # folds over groups (sessions): show the groups
        for u in corpus.utterances:
            groups.setdefault(u.group, Counter())[u.label] += 1
    report.group_counts = {g: dict(c) for g, c in sorted(groups.items())}
    report.skipped = list(corpus.skipped)
    report.excluded = dict(corpus.excluded)
    report.shortfall = list(corpus.shortfall)
    report.notes = list(corpus.notes)
    report.confound = speaker_label_confound(corpus)


def _decode_all(
    report: CheckReport, corpus: Corpus, progress: Callable[[int, int], None] | None
) -> None:
    from merbench.data.audio import read_audio

    total = len(corpus)
    for k, utt in enumerate(corpus.utterances, start=1):
        try:
            wave = read_audio(Path(utt.audio), CHECK_SAMPLE_RATE) if utt.audio else None
        except UserError as exc:
            report.unreadable.append(Skip(utt.id, str(exc)))
        else:
            if wave is None:
                report.unreadable.append(Skip(utt.id, "no audio path"))
            else:
                report.decoded += 1
                report.audio_seconds += len(wave) / CHECK_SAMPLE_RATE
        if progress is not None:
            progress(k, total)


def _table(rows: dict[str, dict[str, int]], labels: tuple[str, ...], first: str) -> list[str]:
    width = max([len(first), *(len(r) for r in rows)])
    cols = [max(len(lab), 5) for lab in labels]
    head = f"  {first:<{width}}  " + "  ".join(
        f"{lab:>{w}}" for lab, w in zip(labels, cols, strict=True)
    )
    lines = [head + f"  {'total':>6}"]
    for name, counts in rows.items():
        cells = "  ".join(f"{counts.get(lab, 0):>{w}}" for lab, w in zip(labels, cols, strict=True))
        lines.append(f"  {name:<{width}}  {cells}  {sum(counts.values()):>6}")
    return lines


def render_check(report: CheckReport, max_items: int = 20) -> str:
    """Plain-text rendering of `report` (no markup), at most `max_items` listed per problem kind."""
    lines = [f"{report.name} at {report.root}"]
    if report.options:
        lines.append("options: " + ", ".join(f"{k}={v}" for k, v in report.options.items()))
    if report.error:
        lines.append(f"ERROR: {report.error}")
        lines.append("status: FAILED (the corpus cannot be loaded until this is fixed)")
        return "\n".join(lines)
    lines.append(f"{report.utterances} utterances, {len(report.labels)} classes")
    if report.group_counts:
        lines.append("per group (session, or speaker for the acted corpora):")
        lines += _table(report.group_counts, report.labels, "group")
        sizes: dict[str, dict[str, int]] = {}
        for key, counts in report.counts.items():
            split, part = key.split("/")
            sizes.setdefault(split, {})[part] = sum(counts.values())
        lines.append("splits:")
        lines += [
            f"  {s}: train {p.get('train', 0)}, dev {p.get('dev', 0)}, test {p.get('test', 0)}"
            for s, p in sizes.items()
        ]
    else:
        lines.append("per split:")
        lines += _table(report.counts, report.labels, "split")
    if report.dev_rule:
        lines.append(f"dev rule: {report.dev_rule}")
    if report.confound:
        lines.append(report.confound)
    if report.excluded:
        excluded = ", ".join(f"{k} {v}" for k, v in report.excluded.items())
        lines.append(f"excluded by the protocol (not errors): {excluded}")
    if report.decoded or report.unreadable:
        lines.append(
            f"audio: {report.decoded} decoded ({report.audio_seconds / 3600:.2f} h), "
            f"{len(report.unreadable)} unreadable"
        )
    lines += _release_lines(report)
    for title, items in (("skipped", report.skipped), ("unreadable", report.unreadable)):
        if not items:
            continue
        lines.append(f"{title}: {len(items)}")
        lines += [f"  {s.id}: {s.reason}" for s in items[:max_items]]
        if len(items) > max_items:
            lines.append(f"  ... and {len(items) - max_items} more")
    counts = report.skip_counts()
    if counts:
        lines.append("problems by kind: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    lines.append("status: OK" if report.ok else "status: PROBLEMS FOUND (listed above)")
    return "\n".join(lines)


def _release_lines(report: CheckReport) -> list[str]:
    """The loader's notes and what the copy lacks against the release's counts, as text lines."""
    lines = [f"note: {note}" for note in report.notes]
    if report.shortfall:
        lines.append(f"short of the release: {report.shortfall[0]}")
        lines += [f"  {line}" for line in report.shortfall[1:]]
    return lines
