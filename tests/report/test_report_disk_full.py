"""`merbench report` on a real full disk (a tmpfs, root only): `DiskFull` naming where it was
writing, no page left behind; with space again, the report is written."""

from __future__ import annotations

from pathlib import Path

import pytest
from guarantee_helpers import fill, mounted_tmpfs
from test_report_html import GRID, predictions, runs

from merbench.files import DiskFull
from merbench.report.html import write_report


def test_report_on_a_full_disk_leaves_no_page(tmp_path: Path) -> None:
    with mounted_tmpfs(tmp_path / "disk") as disk:
        out = disk / "report"
        out.mkdir()
        filler = fill(disk)
        with pytest.raises(DiskFull, match="no space left on the device while writing the report"):
            write_report(runs(), grid=GRID, out_dir=out, predictions=predictions)
        assert not list(out.glob("*.html"))
        filler.unlink()
        report = write_report(runs(), grid=GRID, out_dir=out, predictions=predictions)
        assert report.html == out / "toy.html" and report.html.stat().st_size > 0
