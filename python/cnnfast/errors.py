"""Errors for files that are not what they should be.

A truncated, empty, damaged or foreign file given to a loader (a weights or
checkpoint .npz, a run's config.json, an IDX or gzip file, a CIFAR-10 batch) is
one FileFormatError naming the file and what is wrong with it, instead of the
reading library's own message (zipfile's "File is not a zip file", NumPy's
misleading "This file contains pickled (object) data" for random bytes,
struct.error, EOFError, a JSONDecodeError without a file name). Missing and
unreadable files stay FileNotFoundError / PermissionError, which name the file.
"""

from __future__ import annotations

import errno
import gzip
import json
import pickle
import struct
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Union

PathLike = Union[str, Path]


class FileFormatError(ValueError):
    """A file that is truncated, damaged or of another format. `path` is the file,
    `problem` what is wrong with it."""

    def __init__(self, path: PathLike, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = Path(path)
        self.problem = problem

    def __reduce__(self) -> tuple[type, tuple[Path, str]]:
        # (pickled whole, e.g. from the child process that reads a Keras file)
        return (type(self), (self.path, self.problem))


class DataError(ValueError):
    """Data that cannot be used as asked: an image folder without classes or images,
    images of mixed sizes, a data set whose images do not fit the net. The message
    names the folder or file and what was expected."""


# What the readers raise on bytes that are not what they expect.
_DAMAGE = (
    EOFError,
    struct.error,
    zlib.error,
    gzip.BadGzipFile,
    zipfile.BadZipFile,
    pickle.UnpicklingError,
    UnicodeDecodeError,
    json.JSONDecodeError,
    ValueError,
    OverflowError,  # (an offset or size in the file past what a seek or read takes)
    NotImplementedError,  # (zipfile: a compression method or flag no .npz writer uses)
    LookupError,  # (KeyError, IndexError, and codecs': a pickle naming an unknown encoding)
    TypeError,
    AttributeError,
)


@contextmanager
def reading(path: PathLike, what: str) -> Iterator[None]:
    """Inside the block, an error that damaged or foreign content makes the reader
    raise becomes FileFormatError(path, "not a readable <what> (<the reader's
    complaint>)"). A FileFormatError raised inside passes through unchanged."""
    try:
        yield
    except FileFormatError:
        raise
    except _DAMAGE as err:
        detail = str(err) or type(err).__name__
        if isinstance(err, EOFError) or "ended before" in detail:
            detail = f"it is truncated ({detail})"
        raise FileFormatError(path, f"not a readable {what}: {detail}") from err
    except OSError as err:
        # A seek to an offset the file's own structure gives, before its start, is
        # EINVAL: damaged content. Other OSErrors (EIO, ENOENT, EACCES) are the disk's
        # or the path's, and stay as they are. (After _DAMAGE: gzip.BadGzipFile is an
        # OSError too.)
        if err.errno != errno.EINVAL:
            raise
        problem = f"not a readable {what}: an offset in it is invalid ({err})"
        raise FileFormatError(path, problem) from err
