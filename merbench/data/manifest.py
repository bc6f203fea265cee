"""The generic manifest corpus: bring any corpus (CREMA-D, RAVDESS, MSP-Podcast, ...) as a table.

A CSV (UTF-8) or Parquet file with columns ``id, audio, text, label, speaker`` and either ``split``
(values ``train``, ``dev`` (or ``val``, ``valid``, ``validation``), ``test``: one split named
``official``) or ``fold`` (leave one fold out, dev = the next fold, as for IEMOCAP sessions).
Audio paths are relative to the manifest's folder (absolute paths work too). An optional ``group``
column (session, dialogue) fills `Utterance.group` for split manifests (default: the speaker).

A manifest whose ``text`` column is empty on every row is a *speech-only* corpus: its utterances
keep an empty text (audio-only recipes run on it; recipes that read text are refused at plan time
unless a text source such as ``text=asr`` fills it). When only some rows lack text, those rows are
skipped with the reason ``empty text``. A manifest whose rows were all dropped is an error that
counts the rows per reason. Labels and speaker ids are matched exactly; two spellings that are
the same after normalisation (`merbench.data.labels`) are an error naming both.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from merbench.data.base import Corpus, CorpusLoader, Split, Utterance
from merbench.data.card import leave_one_group_out, load_card, make_protocol
from merbench.data.common import Gathered, check_on_missing, read_csv_rows, require_utterances
from merbench.data.labels import check_spellings, spelling_key
from merbench.errors import UserError
from merbench.registry import DATASETS

REQUIRED = ("id", "audio", "text", "label", "speaker")
SPLIT_NAMES = {
    "train": "train",
    "dev": "dev",
    "val": "dev",
    "valid": "dev",
    "validation": "dev",
    "test": "test",
}
DEFAULT_NAMES = ("manifest.csv", "manifest.parquet")


@dataclass
class ManifestConfig:
    """Options of the manifest corpus."""

    path: str = (
        ""  # manifest file; default: the root (a file, or a folder with manifest.csv/.parquet)
    )
    labels: tuple[str, ...] = ()  # class order; default: the sorted labels found in the manifest
    headline_metrics: tuple[str, ...] = ("ua", "wa", "avg")
    on_missing: str = "skip"  # missing audio: skip (recorded, with the id) or fail
    check_media: bool = True  # check that each audio file exists (cheap)


def manifest_path(config: ManifestConfig, root: Path | None) -> Path:
    """The manifest file named by the config or found at `root`."""
    if config.path:
        path = Path(config.path).expanduser()
    elif root is None:
        raise UserError("manifest: give the manifest file (--data-root FILE or path=FILE)")
    else:
        path = Path(root).expanduser()
        if path.is_dir():
            found = [path / n for n in DEFAULT_NAMES if (path / n).is_file()]
            if not found:
                raise UserError(f"{path}: no {' or '.join(DEFAULT_NAMES)} in this folder")
            path = found[0]
    if not path.is_file():
        raise UserError(f"{path}: manifest file not found")
    return path


def read_manifest(path: Path) -> list[tuple[str, dict[str, str]]]:
    """``[(location, row)]``: rows as strings, location ``file:line`` (CSV) or ``file row N``."""
    if path.suffix.lower() in (".parquet", ".pq"):
        import pandas as pd

        try:
            frame = pd.read_parquet(path)
        except Exception as exc:  # pyarrow's errors are the user's file's
            raise UserError(f"{path}: unreadable Parquet ({exc})") from None
        header = [str(c) for c in frame.columns]
        _check_columns(path, header)
        frame = frame.astype(object).where(frame.notna(), "")
        return [
            (f"{path} row {i + 1}", {k: str(v) for k, v in row.items()})
            for i, row in enumerate(frame.to_dict("records"))
        ]
    header, rows = read_csv_rows(path, REQUIRED)
    _check_columns(path, header)
    return [(f"{path}:{line}", row) for line, row in rows]


def _check_columns(path: Path, header: list[str]) -> None:
    missing = [c for c in REQUIRED if c not in header]
    if not ("split" in header or "fold" in header):
        missing.append("split or fold")
    if missing:
        raise UserError(
            f"{path}: missing column(s) {', '.join(missing)}; found: {', '.join(header)}"
        )


def _spelling_hint(label: str, known: tuple[str, ...]) -> str:
    same = [k for k in known if spelling_key(k) == spelling_key(label)]
    return f" (did you mean {same[0]!r}? labels are matched exactly)" if same else ""


@DATASETS.register("manifest", config=ManifestConfig)
class ManifestCorpus(CorpusLoader):
    """Any corpus described by a CSV/Parquet manifest."""

    config: ManifestConfig

    def load(self, root: Path | None = None) -> Corpus:
        cfg = self.config
        check_on_missing(cfg.on_missing, "datasets/manifest")
        path = manifest_path(cfg, root)
        rows = read_manifest(path)
        by_fold = "split" not in rows[0][1] if rows else False
        speech_only = all(not row["text"].strip() for _, row in rows)
        got = Gathered(cfg.on_missing)
        seen: dict[str, str] = {}
        part_of: dict[str, str] = {}
        for where, row in rows:
            utt_id = row["id"].strip()
            if not utt_id:
                raise UserError(f"{where}: empty id")
            if "\n" in utt_id or "\r" in utt_id:
                raise UserError(f"{where}: id {utt_id!r} holds a line break")
            if utt_id in seen:
                raise UserError(f"{where}: duplicate id {utt_id!r} (first at {seen[utt_id]})")
            seen[utt_id] = where
            label = row["label"].strip()
            if not spelling_key(label) or (cfg.labels and label not in cfg.labels):
                valid = ", ".join(cfg.labels) if cfg.labels else "a non-empty label"
                hint = _spelling_hint(label, cfg.labels)
                raise UserError(f"{where}: unknown label {label!r}{hint}; valid: {valid}")
            if by_fold:
                part = row["fold"].strip()
                if not part:
                    raise UserError(f"{where}: empty fold")
            else:
                raw = row["split"].strip().lower()
                if raw not in SPLIT_NAMES:
                    raise UserError(
                        f"{where}: unknown split {row['split']!r}; valid: train, dev, test"
                    )
                part = SPLIT_NAMES[raw]
            text = row["text"].strip()
            if not text and not speech_only:
                got.skip(utt_id, f"empty text: {where}")
                continue
            audio_field = row["audio"].strip()
            if not audio_field:
                got.missing(utt_id, f"missing audio: empty path at {where}")
                continue
            audio = Path(audio_field)
            audio = audio if audio.is_absolute() else path.parent / audio
            if cfg.check_media and not got.media.exists(audio):
                got.missing(utt_id, f"missing audio: {audio}")
                continue
            group = part if by_fold else (row.get("group") or "").strip() or row["speaker"].strip()
            got.utterances.append(
                Utterance(
                    id=utt_id,
                    speaker=row["speaker"].strip(),
                    group=group,
                    text=text,
                    audio=audio,
                    label=label,
                    meta={"row": where},
                )
            )
            part_of[utt_id] = part
        utterances = got.utterances
        require_utterances(utterances, got.skipped, str(path), len(rows))
        check_spellings([(u.label, str(u.meta["row"])) for u in utterances], "label", cfg.labels)
        check_spellings([(u.speaker, str(u.meta["row"])) for u in utterances], "speaker")
        labels = tuple(cfg.labels) or tuple(sorted({u.label for u in utterances}))
        card = load_card("manifest")
        if by_fold:
            folds = sorted(
                set(part_of.values()),
                key=lambda f: (not f.isdigit(), int(f) if f.isdigit() else 0, f),
            )
            if len(folds) < 3:
                raise UserError(
                    f"{path}: a fold manifest needs at least 3 folds, found {len(folds)}"
                )
            splits = leave_one_group_out(utterances, folds, card["protocol"]["dev_rule"])
        else:
            ids = {
                p: tuple(i for i, q in part_of.items() if q == p) for p in ("train", "dev", "test")
            }
            splits = (Split("official", ids["train"], ids["dev"], ids["test"]),)
        protocol = make_protocol(card, labels, splits, headline_metrics=cfg.headline_metrics)
        return got.corpus("manifest", protocol, path.parent)
