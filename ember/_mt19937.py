"""The engine behind ``ember.Generator``: PyTorch's CPU generator state (32-bit Mersenne
Twister, MT19937), its seeding and its 5056-byte state format.

Contract: after ``seed(s)`` the words drawn are those of C++ ``std::mt19937(s mod 2**32)``, as
PyTorch's CPU generator draws them, and ``state_bytes()`` / ``load_state_bytes()`` read and
write PyTorch's ``get_rng_state()`` layout (seed, ``left``, ``next``, the 624 words, the two
cached normal samples), so states move between ember and PyTorch in both directions.

The words come from NumPy's own ``numpy.random.MT19937`` bit generator, which holds the same 624
words and twists them in C, a block of 624 at a time: loading our words into it and reading
``random_raw`` is the standard recurrence at C speed (a NumPy-ops twist costs ~15 us a block,
five times the C one). PyTorch's ``left``/``next`` counters map to its ``pos`` as
``next = pos``, ``left = 625 - pos``; a freshly seeded engine (``left = 1, next = 0``) is
``pos = 624``, twisting at the first draw.
"""

from __future__ import annotations

import struct

import numpy as np

STATE_SIZE = 5056
_MASK32 = 0xFFFFFFFF


def seed_words(seed32: int) -> np.ndarray:
    """The 624 words ``std::mt19937`` holds after seeding (before its first twist)."""
    words = [0] * 624
    x = words[0] = seed32 & _MASK32
    for j in range(1, 624):
        x = words[j] = (1812433253 * (x ^ (x >> 30)) + j) & _MASK32
    return np.array(words, dtype=np.uint32)


class Engine:
    """MT19937 words, the stored 64-bit seed and the two cached normal samples.

    ``normal_d`` / ``normal_f``: the cached double / float normal sample or None. The NumPy bit
    generator is made on first draw (``numpy.random`` costs ~9 ms to import, and a seeded
    generator that never draws should not pay it)."""

    __slots__ = ("seed", "_bg", "_gen", "_key", "_pos", "_fresh", "normal_d", "normal_f")

    def __init__(self, seed: int):
        self.manual_seed(seed)

    def manual_seed(self, seed: int) -> None:
        self.seed = seed % (1 << 64)
        self._key = None  # words computed lazily from the seed
        self._bg = self._gen = None
        self._pos = 624
        self._fresh = True  # PyTorch's next = 0 before the first twist
        self.normal_d = None
        self.normal_f = None

    def _bitgen(self):
        bg = self._bg
        if bg is None:
            from numpy.random import MT19937

            key = self._key if self._key is not None else seed_words(self.seed)
            bg = self._bg = MT19937(0)
            bg.state = {"bit_generator": "MT19937", "state": {"key": key, "pos": self._pos}}
            self._key = None
        return bg

    def _advance(self, k: int) -> None:
        pos = self._pos + k
        self._pos = pos if pos <= 624 else (pos - 1) % 624 + 1
        self._fresh = False

    def raw(self, k: int) -> np.ndarray:
        """The next ``k`` 32-bit words, held in uint64."""
        if k <= 0:
            return np.empty(0, dtype=np.uint64)
        raw = self._bitgen().random_raw(k)
        self._advance(k)
        return raw

    # NOTE: a NumPy Generator's full-range integers are the bit generator's raw outputs (its
    # next_uint32, and next_uint64: the first word the high half, as PyTorch's random64), made
    # without random_raw's uint64 array: ~1.6x faster.
    def words(self, k: int) -> np.ndarray:
        """The next ``k`` 32-bit words, as uint32."""
        if k <= 0:
            return np.empty(0, dtype=np.uint32)
        w = self._generator().integers(0, 1 << 32, size=k, dtype=np.uint32)
        self._advance(k)
        return w

    def words64(self, k: int) -> np.ndarray:
        """``k`` 64-bit draws as uint64: two words each, the first the high half."""
        if k <= 0:
            return np.empty(0, dtype=np.uint64)
        w = self._generator().integers(0, 1 << 64, size=k, dtype=np.uint64)
        self._advance(2 * k)
        return w

    def _generator(self):
        bg = self._bitgen()
        gen = self._gen
        if gen is None or gen.bit_generator is not bg:
            from numpy.random import Generator

            gen = self._gen = Generator(bg)
        return gen

    def word(self) -> int:
        return int(self.words(1)[0])

    # ---- PyTorch's state bytes ----
    def _key_now(self) -> np.ndarray:
        if self._bg is not None:
            return np.asarray(self._bg.state["state"]["key"], dtype=np.uint32)
        return self._key if self._key is not None else seed_words(self.seed)

    def state_bytes(self) -> bytes:
        pos = self._pos
        left, nxt = (1, 0) if self._fresh else (625 - pos, pos)
        head = struct.pack("<QiiQ", self.seed, left, 1, nxt)
        words = self._key_now().astype("<u8").tobytes()
        d = self.normal_d
        f = self.normal_f
        tail = struct.pack("<ddd i 4x f ? 3x", 0.0, 0.0 if d is None else d, 0.0,
                           d is not None, 0.0 if f is None else f, f is not None)
        return head + words + tail

    def load_state_bytes(self, blob: bytes) -> None:
        """Restore from PyTorch's layout (the caller checked its size)."""
        seed, left, seeded, nxt = struct.unpack_from("<QiiQ", blob, 0)
        nxt &= _MASK32
        _, d, _, has_d, f, has_f = struct.unpack_from("<ddd i 4x f ? 3x", blob, 5016)
        if seeded == 0 or not 0 < left <= 624 or nxt > 624:
            raise RuntimeError("Invalid mt19937 state")
        key = np.frombuffer(blob, dtype="<u8", count=624, offset=24).astype(np.uint32)
        self.seed = seed
        # PyTorch keeps left + next = 625 after its first twist; left == 1 twists next draw
        self._pos = 624 if left == 1 else 625 - left
        self._fresh = left == 1 and nxt == 0
        self._key = key
        self._bg = None
        if has_d:
            self.normal_d = d
        if has_f:
            self.normal_f = f
