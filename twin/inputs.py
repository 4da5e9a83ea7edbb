"""Reading a user's file safely: what is not a text file of a sane size is refused with a clear message.

Every input file (layouts, catalogs, scenarios, price lists, weather and trace CSVs) is read through
:func:`read_text`, which holds one set of rules:

- only regular files: no folders, devices (``/dev/zero``), named pipes, sockets, and nothing under
  ``/proc`` or ``/sys`` (their files claim to be regular and empty and stream forever or leak the
  environment); a pipe is opened without blocking, so it is refused, not waited on;
- a size limit per kind of file (:data:`MAX_TEXT_BYTES` for YAML), checked before reading and while
  reading (a file that grows);
- UTF-8 text: a byte-order mark is fine; UTF-16/32 (with or without a mark), NUL bytes and other
  control characters are named as such, with the line where they are;
- messages quote at most :data:`EXCERPT` characters of what they found (:func:`excerpt`).

A foundation module: it imports nothing from the rest of the twin but its errors.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from twin.errors import InputError, Problem

#: Largest YAML file read (layouts, catalogs, scenarios, price lists are kilobytes). [bytes]
MAX_TEXT_BYTES = 8 * 2**20
#: Largest weather or price CSV read (an hourly year is ~300 kB; request traces have their own limit). [bytes]
MAX_CSV_BYTES = 32 * 2**20
#: Characters of an offending value quoted in a message.
EXCERPT = 60
#: Folders whose files are never inputs.
SYSTEM_FOLDERS = ("/proc", "/sys", "/dev")


def excerpt(value: object, limit: int = EXCERPT) -> str:
    """``repr`` of ``value`` cut to ``limit`` characters, saying how long it was when cut."""
    text = repr(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(str(value)):,} characters)"


def _refuse(name: str, message: str, line: int | None = None) -> InputError:
    return InputError([Problem(name, line, "", message)])


def read_text(path: str | Path, display: str | None = None, *, max_bytes: int = MAX_TEXT_BYTES,
              what: str = "a YAML file") -> str:
    """The text of ``path`` (see the module notes); ``display`` names the file in problems.

    Raises
    ------
    InputError
        For anything that is not a readable UTF-8 text file of at most ``max_bytes``.
    """
    p = Path(path)
    name = display or str(path)
    try:
        real = os.path.realpath(p)
    except (OSError, ValueError) as exc:
        raise _refuse(name, f"cannot resolve the path: {exc}") from None
    if any(real == f or real.startswith(f + os.sep) for f in SYSTEM_FOLDERS):
        raise _refuse(name, f"is a system file ({real}), not {what}")
    try:
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise _refuse(name, "file not found") from None
    except IsADirectoryError:
        raise _refuse(name, f"is a folder; expected {what}") from None
    except (OSError, ValueError) as exc:
        raise _refuse(name, f"cannot open: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise _refuse(name, f"is a folder; expected {what}")
        if not stat.S_ISREG(st.st_mode):
            kind = ("a named pipe" if stat.S_ISFIFO(st.st_mode) else "a device" if
                    stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) else "a socket"
                    if stat.S_ISSOCK(st.st_mode) else "not a regular file")
            raise _refuse(name, f"is {kind}, not {what}")
        if st.st_size > max_bytes:
            raise _refuse(name, f"is {st.st_size:,} bytes; {what} may be at most {max_bytes:,} bytes")
        chunks, total = [], 0
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            total += len(chunk)
            if total > max_bytes:
                raise _refuse(name, f"is more than {max_bytes:,} bytes; {what} may be at most that")
            chunks.append(chunk)
    except OSError as exc:
        raise _refuse(name, f"cannot read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    return decode(b"".join(chunks), name, what)


def decode(data: bytes, name: str, what: str = "a YAML file") -> str:
    """UTF-8 text of ``data``, or a problem naming what it is instead (see the module notes)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise _refuse(name, f"is UTF-16 (or UTF-32) text; save it as UTF-8: {what} is read as UTF-8", 1)
    if len(data) >= 4 and data[1:2] == b"\x00" and data[3:4] == b"\x00" and data[:1] != b"\x00":
        raise _refuse(name, "looks like UTF-16 text without a byte-order mark; save it as UTF-8", 1)
    nul = data.find(b"\x00")
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + 1
        raise _refuse(name, f"is a binary file (a NUL byte at offset {nul}), not {what}", line)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise _refuse(name, f"is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
                      f"save it as UTF-8", line) from None
    bad = _CONTROL.search(text)
    if bad is not None:
        line = text.count("\n", 0, bad.start()) + 1
        code = f"U+{ord(bad.group()):04X}"
        raise _refuse(name, f"has a control character {code} on line {line}: not {what}", line)
    return text


#: Characters no input text has: C0 controls but tab, newline and carriage return; DEL; C1 controls.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\x80-\x9f]")


def project_root(path: str | Path) -> Path:
    """The folder the files a layout or scenario names must stay in: its project, or its own folder.

    The project is the nearest folder above the file that holds ``.git`` or ``pyproject.toml``;
    without one, the file's own folder.
    """
    folder = Path(path).resolve().parent
    for f in (folder, *folder.parents):
        if (f / ".git").exists() or (f / "pyproject.toml").is_file():
            return f
    return folder


def allowed_roots(referrer: str | Path, allow: tuple = ()) -> list[Path]:
    """Folders a file named by ``referrer`` may lie in: its project, ``allow`` and ``TWIN_ALLOW_CATALOG``."""
    env = [a for a in os.environ.get("TWIN_ALLOW_CATALOG", "").split(os.pathsep) if a]
    return [project_root(referrer), *(Path(a).resolve() for a in (*allow, *env))]

