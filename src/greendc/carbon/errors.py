"""The one error type of the carbon part: it always names the file and the field at fault."""

from __future__ import annotations

from greendc.files import InputFileError


class InventoryError(InputFileError, ValueError):
    """Bad input in an inventory (or in a file it points to), reported as one line.

    ``field`` is a dotted path such as ``sites[0].electricity.annual.unit`` so that the user can find the
    offending value without a traceback.
    """
