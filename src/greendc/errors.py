"""The one base of every error a user can cause, and how an error quotes a user's input.

Every error that bad input, a bad file or a bad argument can raise derives from :class:`GreendcError`.
The command line (and later the web service) catches that one type and prints its message as one line;
anything else that escapes is a bug in greendc and is reported as one.
"""

from __future__ import annotations

#: The most characters of a user's input an error message quotes: enough to recognize the value, never the
#: hundreds of kilobytes a malformed file can put on one line.
QUOTE_LIMIT_CHARS = 200


class GreendcError(Exception):
    """Input, a file or an argument greendc cannot use; the message names the file and field at fault."""


def quoted(value: object, limit_chars: int = QUOTE_LIMIT_CHARS) -> str:
    """``repr(value)``, cut to at most about ``limit_chars`` characters, with the cut marked."""
    text = repr(value)
    if len(text) <= limit_chars:
        return text
    return f"{text[:limit_chars]}... ({len(text)} characters)"


class UsageError(GreendcError, ValueError):
    """An argument (a command-line option, or a workflow's parameter) that cannot be used."""


def plain_text(text: object, limit_chars: int = QUOTE_LIMIT_CHARS) -> str:
    """``text`` (such as a library's message, which may repeat the input) fit for a one-line message: runs
    of whitespace, line breaks included, become one space, other unprintable characters are escaped (a
    terminal would act on them), and it is cut to about ``limit_chars``."""
    flat = " ".join(str(text).split())
    shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in flat[:limit_chars])
    return shown + ("..." if len(flat) > limit_chars else "")
