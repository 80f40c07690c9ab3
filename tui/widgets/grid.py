"""The question grid: one cell per question showing current, answered and flagged."""

from __future__ import annotations

from rich.text import Text
from textual.events import Click
from textual.widget import Widget

from tui.messages import JumpTo

CELL = 5  # "  12 " — a cell's width in columns


class QuestionGrid(Widget):
    """Cells laid out in rows; click a cell (or use the screen's go-to) to jump there."""

    DEFAULT_CSS = """
    QuestionGrid { height: auto; max-height: 6; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.states: list[tuple[bool, bool, bool | None]] = []  # answered, flagged, correct
        self.current = 0

    def update_states(self, states: list[tuple[bool, bool, bool | None]], current: int) -> None:
        """Redraw with new per-question states (answered, flagged, correct-or-None)."""
        self.states, self.current = states, current
        self.refresh(layout=True)

    def _per_row(self) -> int:
        return max(1, (self.size.width or 80) // CELL)

    def get_content_height(self, container: object, viewport: object, width: int) -> int:
        per_row = max(1, width // CELL)
        return max(1, -(-len(self.states) // per_row))

    def render(self) -> Text:
        text = Text()
        per_row = self._per_row()
        for i, (answered, flagged, correct) in enumerate(self.states):
            label = f"{i + 1:>3}{'⚑' if flagged else ' '}"
            if correct is True:
                style = "bold green"
            elif correct is False:
                style = "bold red"
            elif answered:
                style = "bold cyan"
            else:
                style = "dim"
            if i == self.current:
                style += " reverse"
            text.append(label, style=style)
            text.append(" ")
            if (i + 1) % per_row == 0 and i + 1 < len(self.states):
                text.append("\n")
        return text

    def on_click(self, event: Click) -> None:
        per_row = self._per_row()
        index = event.y * per_row + event.x // CELL
        if 0 <= index < len(self.states):
            self.post_message(JumpTo(index))
