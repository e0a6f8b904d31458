"""An append-only CSV log with a fixed header, cut back to a step when a run resumes (metrics.csv, eval.csv)."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any, Sequence

from colorcore.core.atomic import atomic_write_text


class CsvLog:
    """An append-only CSV file with a fixed header (rows beyond a resumed step are dropped first).

    `keep_until_step` None starts the file afresh (header only); a step keeps the existing file's rows
    whose "step" is at most that step, rewritten atomically under `columns`.
    """

    def __init__(self, path: Path, columns: Sequence[str], keep_until_step: int | None) -> None:
        self.path, self.columns = path, list(columns)
        if keep_until_step is None or not path.is_file():
            atomic_write_text(path, ",".join(self.columns) + "\n")
        else:
            self._truncate(keep_until_step)

    def _truncate(self, last_step: int) -> None:
        with open(self.path, newline="", encoding="utf-8") as handle:
            rows = [r for r in csv.DictReader(handle) if _int_or_none(r.get("step")) is not None
                    and _int_or_none(r.get("step")) <= last_step]
        text = io.StringIO()
        writer = csv.DictWriter(text, self.columns, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        atomic_write_text(self.path, text.getvalue())

    def append(self, row: dict[str, Any]) -> None:
        """Add one row (values formatted compactly) and flush it to disk."""
        values = [_format(row.get(c, "")) for c in self.columns]
        with open(self.path, "a", encoding="utf-8", newline="") as handle:
            handle.write(",".join(values) + "\n")


def _int_or_none(text: str | None) -> int | None:
    try:
        return int(float(text)) if text not in (None, "") else None
    except ValueError:
        return None


def _format(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)
