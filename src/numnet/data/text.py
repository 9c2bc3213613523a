"""Text for character-level language models: a UTF-8 file or the default text, its
vocabulary, the contiguous streams that truncated backpropagation through time walks, and
the unigram baseline a model has to beat.

The streams are those of PyTorch's ``word_language_model`` example (its ``batchify``): the
text ``x_0 x_1 ... x_{n-1}`` is cut into ``B`` contiguous pieces of ``L = n // B``
characters, one row each (the last ``n mod B`` characters are dropped), so that row ``b``
at step ``t`` continues exactly where it stopped at step ``t - 1`` and the recurrent state
can be carried from one batch to the next.

Example:
    >>> vocabulary = Vocabulary.from_text("abracadabra")
    >>> vocabulary.chars
    'abcdr'
    >>> ids = vocabulary.encode("abracadabra")
    >>> streams(ids, 2)
    array([[0, 1, 4, 0, 2],
           [0, 3, 0, 1, 4]])
    >>> vocabulary.decode(ids[:4])
    'abra'
"""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

import numpy

from numnet.data.errors import DatasetError

DEFAULT_TEXT = "scikit-learn's dataset descriptions (sklearn/datasets/descr/*.rst)"
"""What ``default_text`` reads: the descriptions scikit-learn prints as ``DESCR`` for its
toy datasets (about 43 kB of English prose and reST tables), installed with scikit-learn,
the package the embedded digits come from, so they are on every machine numnet runs on."""


def read_text(path) -> str:
    """The characters of the UTF-8 file ``path`` (a leading byte-order mark dropped).

    Raises:
        DatasetError: the file is missing, unreadable, empty or not UTF-8; the message
            names the file (and, for bad UTF-8, the byte and its offset).
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DatasetError(f"--data-file {path}: no such file", path) from None
    except OSError as error:
        raise DatasetError(f"--data-file {path}: cannot read it ({error.strerror or error})",
                           path) from None
    if not raw:
        raise DatasetError(f"--data-file {path} is empty: a language model needs text to "
                           "learn from", path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise DatasetError(f"--data-file {path} is not UTF-8 text: byte "
                           f"0x{raw[error.start]:02x} at offset {error.start} "
                           f"({error.reason}); convert it, e.g. iconv -t UTF-8", path) from None
    return text.removeprefix("\ufeff")


def default_text() -> str:
    """The default text (``DEFAULT_TEXT``): scikit-learn's dataset descriptions, its
    ``datasets/descr/*.rst`` files in name order, found without importing scikit-learn.

    Raises:
        DatasetError: scikit-learn is not installed, or its descriptions are missing.
    """
    spec = importlib.util.find_spec("sklearn")
    folder = None
    if spec is not None and spec.submodule_search_locations:
        folder = Path(list(spec.submodule_search_locations)[0]) / "datasets" / "descr"
    files = sorted(folder.glob("*.rst")) if folder is not None and folder.is_dir() else []
    if not files:
        raise DatasetError(f"the default text, {DEFAULT_TEXT}, is not installed: install "
                           "scikit-learn or give a text with --data-file FILE", folder)
    return "\n".join(file.read_text(encoding="utf-8") for file in files)


def fingerprint(text: str) -> str:
    """The SHA-256 of the text's UTF-8 bytes (a run folder records which text it learnt)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _code_points(text: str) -> numpy.ndarray:
    return numpy.frombuffer(text.encode("utf-32-le"), dtype=numpy.uint32)


class Vocabulary:
    """The characters of a text, sorted by code point; character ``chars[i]`` has id ``i``.

    Args:
        chars: the distinct characters, as one string (JSON-serialisable, so a checkpoint's
            metadata can hold it).

    Example:
        >>> Vocabulary("ab\\n").encode("ba")
        array([2, 1])
    """

    def __init__(self, chars: str) -> None:
        if not isinstance(chars, str) or not chars:
            raise ValueError(f"a vocabulary is a non-empty string of characters, got "
                             f"{chars!r}")
        self.chars = "".join(sorted(set(chars)))
        self._codes = _code_points(self.chars)

    @classmethod
    def from_text(cls, text: str) -> Vocabulary:
        """The vocabulary of every character in ``text``."""
        return cls("".join(sorted(set(text))))

    def __len__(self) -> int:
        return len(self.chars)

    def __repr__(self) -> str:
        return f"Vocabulary({len(self)} characters)"

    def encode(self, text: str) -> numpy.ndarray:
        """The ids (int64) of the characters of ``text``.

        Raises:
            ValueError: a character of ``text`` is not in the vocabulary (the first one is
                named, with its position).
        """
        codes = _code_points(text)
        ids = numpy.searchsorted(self._codes, codes)
        ids = numpy.minimum(ids, len(self) - 1)
        unknown = numpy.flatnonzero(self._codes[ids] != codes)
        if unknown.size:
            position = int(unknown[0])
            raise ValueError(f"character {text[position]!r} (position {position}) is not in "
                             f"the vocabulary of {len(self)} characters the model was "
                             "trained on")
        return ids.astype(numpy.int64)

    def decode(self, ids) -> str:
        """The text of the ids ``ids``."""
        return "".join(self.chars[i] for i in numpy.asarray(ids).reshape(-1).tolist())


def split_tail(ids: numpy.ndarray, fraction: float) -> tuple:
    """``(head, tail)``: the last ``round(len(ids) * fraction)`` ids are held out (the tail
    is empty for ``fraction`` 0)."""
    n_tail = int(round(len(ids) * fraction))
    return ids[:len(ids) - n_tail], ids[len(ids) - n_tail:]


def streams(ids: numpy.ndarray, count: int) -> numpy.ndarray:
    """The ids as ``count`` contiguous streams, one per row: ``(count, len(ids) // count)``
    (PyTorch's ``batchify``, batch first; the last ``len(ids) % count`` ids are dropped)."""
    length = len(ids) // count
    return numpy.ascontiguousarray(ids[:count * length].reshape(count, length))


def unigram_bits(train_ids: numpy.ndarray, targets: numpy.ndarray, vocab_size: int) -> float:
    """Bits per character of the unigram model of the training text on ``targets``.

    ``p(c) = (n_c + 1) / (n + V)`` (the training text's character frequencies with add-one
    smoothing, so a character that the training text lacks still has a probability), and
    the result is the cross entropy ``-1/T sum_t log2 p(targets_t)``: what a model that
    ignores the context reaches, the figure a language model has to beat.
    """
    counts = numpy.bincount(train_ids, minlength=vocab_size).astype(numpy.float64) + 1.0
    log_p = numpy.log2(counts / counts.sum())
    return float(-log_p[numpy.asarray(targets).reshape(-1)].mean())
