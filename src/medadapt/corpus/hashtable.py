"""A compact open-addressing map from 64-bit hashes to 32-bit values, for the dedup indexes.

Why not a Python `set`/`dict`: every entry there costs an int object plus a table slot (~60–100 bytes), and the
dedup indexes hold one entry per kept document (or per LSH band per document), so on tens of millions of documents
they would dominate memory. Here an entry is 12 bytes (8-byte key + 4-byte value) in two flat `array`s kept between
3/8 and 3/4 full, i.e. 16–32 bytes per entry. Lookups are a few Python-level probes (~1 µs), which is noise next to
reading and hashing a document. Key 0 marks an empty slot, so a real 0 key is remapped.
"""

from __future__ import annotations

from array import array

_EMPTY = 0
_ZERO_STANDIN = 0x9E3779B97F4A7C15  # any fixed non-zero constant


class U64Map:
    """`key (uint64) -> value (uint32)`; `setdefault` keeps the first value stored for a key."""

    __slots__ = ("_keys", "_mask", "_size", "_values")

    def __init__(self, capacity: int = 1024) -> None:
        cap = 16
        while cap < capacity:
            cap <<= 1
        self._alloc(cap)
        self._size = 0

    def _alloc(self, cap: int) -> None:
        self._keys = array("Q", bytes(8 * cap))
        self._values = array("I", bytes(4 * cap))
        self._mask = cap - 1

    def __len__(self) -> int:
        return self._size

    @property
    def nbytes(self) -> int:
        """Bytes held by the table arrays (what the index costs, excluding a fixed ~200-byte object)."""
        return self._keys.itemsize * len(self._keys) + self._values.itemsize * len(self._values)

    def get(self, key: int) -> int | None:
        key = key or _ZERO_STANDIN
        keys, mask = self._keys, self._mask
        i = key & mask
        while True:
            k = keys[i]
            if k == key:
                return self._values[i]
            if k == _EMPTY:
                return None
            i = (i + 1) & mask

    def __contains__(self, key: int) -> bool:
        return self.get(key) is not None

    def setdefault(self, key: int, value: int = 0) -> int | None:
        """Insert `key -> value` unless present; return the existing value, or None if it was inserted."""
        key = key or _ZERO_STANDIN
        keys, mask = self._keys, self._mask
        i = key & mask
        while True:
            k = keys[i]
            if k == key:
                return self._values[i]
            if k == _EMPTY:
                keys[i] = key
                self._values[i] = value
                self._size += 1
                if self._size * 4 > len(keys) * 3:
                    self._grow()
                return None
            i = (i + 1) & mask

    def _grow(self) -> None:
        old_keys, old_values = self._keys, self._values
        self._alloc(2 * len(old_keys))
        keys, values, mask = self._keys, self._values, self._mask
        for k, v in zip(old_keys, old_values, strict=True):
            if k != _EMPTY:
                i = k & mask
                while keys[i] != _EMPTY:
                    i = (i + 1) & mask
                keys[i] = k
                values[i] = v
