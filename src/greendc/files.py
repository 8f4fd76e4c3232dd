"""Reading a user's files without trusting them.

Every file a user names is checked before it is read: it must be a regular file (not a folder, a device
such as ``/dev/zero`` or a pipe, which would hang a reader) no larger than the limit for its kind. YAML is
read by one loader for site and inventory files alike, stricter than ``yaml.safe_load``:

- nesting deeper than :data:`MAX_YAML_DEPTH` levels is refused (deep nesting overflows the stack of any
  recursive reader, PyYAML's own and pydantic's);
- explicit tags (``!!int``, ``!!timestamp``, ``!python/...``) are refused: greendc's files never need them,
  and they construct values the schemas do not expect;
- aliases (``*name``) may repeat a value, but a document that expands to more than
  :data:`MAX_YAML_EXPANDED_NODES` values or nests deeper than the limit through them is refused, since a
  few nested aliases expand to billions of values ("billion laughs"), and one that refers to itself too;
- keys must be text and may appear once per mapping (PyYAML silently keeps the last of a duplicate).

Every problem becomes one :class:`InputFileError` naming the file, the line and the column.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import yaml

from greendc.errors import QUOTE_LIMIT_CHARS, GreendcError, plain_text, quoted

MAX_YAML_DEPTH = 32
MAX_YAML_EXPANDED_NODES = 200_000
#: Site and inventory files are hand-written: a few kilobytes. 8 MiB leaves room for generated ones.
MAX_CONFIG_FILE_BYTES = 8 * 1024 * 1024


class InputFileError(GreendcError):
    """A file that cannot be used, as one line: ``file: field: message``.

    ``field`` is a dotted path such as ``sites[0].electricity.annual.unit``, or ``<file>`` and ``<yaml>``
    for a problem with the file as a whole.
    """

    def __init__(self, file: str | Path | None, field: str, message: str) -> None:
        self.file = shown_path(file) if file is not None else "<input>"
        self.field = field
        self.message = message
        super().__init__(self.one_line())

    def __reduce__(self) -> tuple[Any, tuple[type, str, str, str]]:
        # Pickle with all three parts, so that the error of a run in a worker process reaches the caller as
        # itself (the default pickles only the message and cannot call __init__ with it).
        return _rebuilt_input_file_error, (type(self), self.file, self.field, self.message)

    def one_line(self) -> str:
        return f"{self.file}: {self.field}: {self.message}"


def _rebuilt_input_file_error(cls: type[InputFileError], file: str, field: str, message: str) -> InputFileError:
    """An unpickled :class:`InputFileError`, its file name kept as shown (not cut a second time)."""
    error = cls.__new__(cls)
    error.file, error.field, error.message = file, field, message
    Exception.__init__(error, error.one_line())
    return error


def shown_path(path: str | Path) -> str:
    """A file name as an error message shows it: as given, or quoted and cut when it is longer than 200
    characters or holds unprintable ones. The result is itself short and printable, so that an error made
    from another's file name shows it unchanged."""
    text = str(path)
    if len(text) <= QUOTE_LIMIT_CHARS and text.isprintable():
        return text
    # Room for the "... (N characters)" that quoted() appends, so the result stays within the limit.
    return quoted(text, limit_chars=QUOTE_LIMIT_CHARS - 30)


def checked_input_file(path: Path | str, max_bytes: int, what: str = "file") -> Path:
    """``path`` as a :class:`Path` once it is known to be a regular file of at most ``max_bytes``."""
    text = str(path)
    if "\0" in text:
        raise InputFileError(text, "<file>", f"a {what} path cannot contain a NUL character")
    path = expanded_path(text, what)
    try:
        status = path.stat()
    except FileNotFoundError:
        raise InputFileError(path, "<file>", f"{what} not found") from None
    except (OSError, ValueError) as error:
        # strerror, not str(error): the latter repeats the path, which may be kilobytes long.
        reason = getattr(error, "strerror", None) or error.__class__.__name__
        raise InputFileError(path, "<file>", f"cannot open the {what} ({reason})") from None
    if stat.S_ISDIR(status.st_mode):
        raise InputFileError(path, "<file>", f"is a folder, not a {what}")
    if not stat.S_ISREG(status.st_mode):
        raise InputFileError(path, "<file>", f"is not a regular file (a device or a pipe?); give a {what}")
    if status.st_size > max_bytes:
        raise InputFileError(path, "<file>", f"{what} is {status.st_size / 2**20:.1f} MiB, more than the "
                                             f"{max_bytes / 2**20:.0f} MiB a {what} may have")
    return path


def expanded_path(text: str, what: str = "file") -> Path:
    """``text`` as a :class:`Path` with a leading ``~`` or ``~user`` expanded."""
    try:
        return Path(text).expanduser()
    except RuntimeError:  # pathlib's way of saying there is no such user (or no home folder)
        user = text.split("/", 1)[0]
        raise InputFileError(text, "<file>", f"cannot expand {quoted(user)} in the {what} path: no such user "
                                             "or no home folder") from None


def read_file_bytes(path: Path | str, max_bytes: int, what: str = "file") -> bytes:
    """The bytes of a regular file of at most ``max_bytes`` (checked before reading, and while reading, in
    case the file grows in between)."""
    path = checked_input_file(path, max_bytes, what)
    try:
        with path.open("rb") as stream:
            data = stream.read(max_bytes + 1)
    except OSError as error:
        raise InputFileError(path, "<file>", f"cannot read the {what} ({error.strerror or error})") from None
    if len(data) > max_bytes:
        raise InputFileError(path, "<file>", f"{what} grew past {max_bytes / 2**20:.0f} MiB while being read")
    return data


def read_text_file(path: Path | str, max_bytes: int = MAX_CONFIG_FILE_BYTES, what: str = "file") -> str:
    """The UTF-8 text of a regular file of at most ``max_bytes`` (see :func:`read_file_bytes`)."""
    data = read_file_bytes(path, max_bytes, what)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputFileError(path, "<file>", f"not a UTF-8 text file (byte {error.start})") from None


def read_json_file(path: Path | str, max_bytes: int, what: str = "file") -> Any:
    """The parsed JSON of a regular UTF-8 file of at most ``max_bytes``; malformed JSON names its line."""
    text = read_text_file(path, max_bytes, what)
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise InputFileError(path, "<json>", f"malformed JSON at line {error.lineno}: {error.msg}") from None


class _UntrustedYamlError(yaml.MarkedYAMLError):
    """A construct the strict loader refuses, marked like PyYAML's own errors."""


class _StrictYamlLoader(yaml.SafeLoader):
    """PyYAML's safe loader without tags, aliases, deep nesting, duplicate or non-text keys."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self.last_mark: yaml.Mark | None = None

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        self.last_mark = node.start_mark
        return super().construct_object(node, deep=deep)

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        tag = getattr(event, "tag", None)
        if tag not in (None, "!"):
            raise _UntrustedYamlError(problem=f"explicit tags ({tag}) are not supported; write a plain value",
                                      problem_mark=event.start_mark)
        if not isinstance(event, yaml.SequenceStartEvent | yaml.MappingStartEvent):
            return super().compose_node(parent, index)
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise _UntrustedYamlError(problem=f"nested more than {MAX_YAML_DEPTH} levels deep",
                                          problem_mark=event.start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[str] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, str):
                raise _UntrustedYamlError(problem=f"keys must be text: put {quoted(key_node.value)} in quotes",
                                          problem_mark=key_node.start_mark)
            if key in seen:
                raise _UntrustedYamlError(problem=f"key {quoted(key)} appears twice in one mapping",
                                          problem_mark=key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _check_expansion(root: yaml.Node) -> None:
    """Refuse a document whose aliases expand it past the size or depth limits, or make it refer to itself."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        children = _children(node)
        if children_done:
            open_nodes.discard(key)
            size[key] = 1 + sum(size[id(child)] for child in children)
            depth[key] = 1 + max((depth[id(child)] for child in children), default=0)
            if size[key] > MAX_YAML_EXPANDED_NODES or depth[key] > MAX_YAML_DEPTH + 1:
                problem = (f"its aliases expand it to more than {MAX_YAML_EXPANDED_NODES:,} values"
                           if size[key] > MAX_YAML_EXPANDED_NODES else
                           f"its aliases nest it more than {MAX_YAML_DEPTH} levels deep")
                raise _UntrustedYamlError(problem=problem, problem_mark=node.start_mark)
            continue
        if key in size:
            continue
        if key in open_nodes:
            raise _UntrustedYamlError(problem="an alias refers to the value that contains it",
                                      problem_mark=node.start_mark)
        open_nodes.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in children if id(child) not in size)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def parse_yaml(text: str, source: str | Path = "<yaml>") -> Any:
    """Parse YAML text with the strict loader; every problem is one :class:`InputFileError`."""
    try:
        loader = _StrictYamlLoader(text)  # its reader refuses control characters at once
    except yaml.reader.ReaderError as error:
        line = text.count("\n", 0, error.position) + 1
        column = error.position - (text.rfind("\n", 0, error.position) + 1) + 1
        character = f"#x{error.character:04x}" if isinstance(error.character, int) else repr(error.character)
        raise InputFileError(source, "<yaml>", f"malformed YAML at line {line}, column {column}: character "
                                               f"{character}: {plain_text(error.reason)}") from None
    try:
        root = loader.get_single_node()
        if root is None:
            return None
        _check_expansion(root)
        return loader.construct_document(root)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise InputFileError(source, "<yaml>", f"malformed YAML{where}: {plain_text(problem)}") from None
    except (ValueError, TypeError, OverflowError, RecursionError) as error:
        # PyYAML's constructors raise these for values its resolvers accept, such as 0x_ or 2023-02-30.
        mark = loader.last_mark
        where = f" near line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise InputFileError(source, "<yaml>", f"malformed YAML{where}: a value cannot be read "
                                               f"({plain_text(error)})") from None
    finally:
        loader.dispose()


def load_yaml_mapping(path: Path | str, what: str = "file", max_bytes: int = MAX_CONFIG_FILE_BYTES) -> dict[str, Any]:
    """Read a YAML file whose top level must be a mapping of keys to values."""
    text = read_text_file(path, max_bytes, what)
    data = parse_yaml(text, source=path)
    if not isinstance(data, dict):
        raise InputFileError(path, "<root>", f"the {what} must be a YAML mapping of keys to values")
    return data
