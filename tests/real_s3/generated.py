"""Large deterministic test content that is produced while it is read, never held whole."""

from __future__ import annotations

import hashlib
import random

MiB = 1024 * 1024


class GeneratedStream:
    """A file-like source of ``size`` deterministic bytes that never exist in memory at once.

    Each MiB is a different rotation of one random MiB, so a part stored at the wrong
    offset changes the digest. The SHA-256 of everything handed out is kept.
    """

    def __init__(self, size: int, seed: int = 7) -> None:
        self._block = random.Random(seed).randbytes(MiB)
        self._size = size
        self._offset = 0
        self.sha256 = hashlib.sha256()

    def read(self, amount: int = -1) -> bytes:
        if amount is None or amount < 0:
            amount = self._size - self._offset
        pieces = []
        while amount > 0 and self._offset < self._size:
            index, within = divmod(self._offset, MiB)
            start = (index * 7919 + within) % MiB
            count = min(amount, MiB - within, self._size - self._offset)
            piece = self._block[start : start + count]
            piece += self._block[: count - len(piece)]
            pieces.append(piece)
            self._offset += count
            amount -= count
        data = b"".join(pieces)
        self.sha256.update(data)
        return data
