"""A format's `write(stream)` turned into an iterator of bytes, for HTTP streaming.

A plugin's export format writes to a stream (push); an HTTP response reads an iterator
(pull). `pull_bytes` runs the writer on a thread that feeds a small bounded queue: the
response sends each piece as soon as it is written, and the writer waits while the client
is slow, so memory stays bounded whatever the size of the export. Closing the iterator
early (the client went away) stops the writer at its next write.
"""

from __future__ import annotations

import io
import queue
import threading
from typing import BinaryIO, Callable, Iterator

PIECE_SIZE = 64 * 1024
QUEUE_DEPTH = 8


class _Stopped(Exception):
    """The reader went away: the writer stops here."""


class _End:
    def __init__(self, error: BaseException | None = None):
        self.error = error


class _QueueStream(io.RawIOBase):
    """A binary stream whose bytes go, in pieces of about `piece_size`, to a queue."""

    def __init__(self, pieces: queue.Queue, stop: threading.Event, piece_size: int):
        super().__init__()
        self._pieces = pieces
        self._stop = stop
        self._piece_size = piece_size
        self._buffer = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:  # type: ignore[override]
        if self._stop.is_set():
            raise _Stopped()
        self._buffer += data
        if len(self._buffer) >= self._piece_size:
            self.send_buffer()
        return len(data)

    def send_buffer(self) -> None:
        if self._buffer:
            piece, self._buffer = bytes(self._buffer), bytearray()
            self._pieces.put(piece)


def pull_bytes(write: Callable[[BinaryIO], None], *, piece_size: int = PIECE_SIZE) -> Iterator[bytes]:
    """What `write(stream)` writes, piece by piece, as it writes it; its errors are raised here."""
    pieces: queue.Queue = queue.Queue(maxsize=QUEUE_DEPTH)
    stop = threading.Event()

    def run() -> None:
        stream = _QueueStream(pieces, stop, piece_size)
        ending = _End()
        try:
            write(stream)  # type: ignore[arg-type]
            stream.send_buffer()
        except _Stopped:
            pass
        except BaseException as error:  # handed to the reader, which raises it
            ending = _End(error)
        pieces.put(ending)

    thread = threading.Thread(target=run, name="ossature-export-writer", daemon=True)
    thread.start()
    finished = False
    try:
        while True:
            piece = pieces.get()
            if isinstance(piece, _End):
                finished = True
                if piece.error is not None:
                    raise piece.error
                return
            yield piece
    finally:
        if not finished:
            stop.set()
            while not isinstance(pieces.get(), _End):
                pass  # drained, so that a writer waiting on a full queue reaches its next write and stops
        thread.join()
