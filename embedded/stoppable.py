"""The ``with`` block of our servers: whatever it started is stopped when the block ends."""

from __future__ import annotations

from typing import Self


class Stoppable:
    """A base for anything with ``stop()``: ``with start_…() as server:`` stops it on the way out,
    whether the block ends or raises."""

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
