"""A job dispatcher for tests: it only remembers what it was given, so the test decides when a job runs."""

from __future__ import annotations


class Recorder:
    """Jobs handed to it stay queued; `sent` lists their ids in order (a re-sent job twice)."""

    def __init__(self) -> None:
        self.sent: list[int] = []

    def dispatch(self, job_id: int) -> None:
        self.sent.append(job_id)
