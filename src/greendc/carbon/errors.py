"""The one error type of the carbon part: it always names the file and the field at fault."""

from __future__ import annotations

from pathlib import Path


class InventoryError(ValueError):
    """Bad input in an inventory (or in a file it points to), reported as one line.

    ``field`` is a dotted path such as ``sites[0].electricity.annual.unit`` so that the user can find the
    offending value without a traceback.
    """

    def __init__(self, file: str | Path | None, field: str, message: str) -> None:
        self.file = str(file) if file is not None else "<inventory>"
        self.field = field
        self.message = message
        super().__init__(self.one_line())

    def one_line(self) -> str:
        return f"{self.file}: {self.field}: {self.message}"
