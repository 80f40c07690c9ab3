"""A problem found in content: where it is (file, line, JSON path) and what is wrong."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal


@dataclass(frozen=True, order=True)
class Problem:
    """One problem in one content file. ``line`` is 1-based; 0 means the whole file."""

    file: str
    line: int
    path: str
    message: str
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        """A plain dict for JSON output."""
        return asdict(self)


def json_path(parts: tuple[str | int, ...]) -> str:
    """Render ``("questions", 3, "options")`` as ``$.questions[3].options``."""
    out = "$"
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out
