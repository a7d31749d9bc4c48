"""The progress bar of fastcredit.sweep: one line over all fits, redrawn in place on stderr."""

import sys
import time


class SweepProgress:
    """Counts finished items (and failures); draws at most every ``interval`` seconds.

    ``enabled=None`` draws only when the stream is a terminal, so logs and CI output stay clean.
    """

    def __init__(self, total, *, label="fits", enabled=None, stream=None, width=30, interval=0.1):
        self.total, self.label, self.width, self.interval = total, label, width, interval
        self.stream = sys.stderr if stream is None else stream
        if enabled is None:
            enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self.enabled = enabled
        self.done = self.failed = 0
        self._start = self._last_draw = time.perf_counter()
        self._drawn = False

    def update(self, failed=False):
        self.done += 1
        self.failed += bool(failed)
        now = time.perf_counter()
        if self.enabled and (now - self._last_draw >= self.interval or self.done == self.total):
            self._last_draw = now
            self._draw(now)

    def _draw(self, now):
        elapsed = now - self._start
        filled = self.width * self.done // max(self.total, 1)
        rate = self.done / elapsed if elapsed > 0 else 0.0
        line = (f"\r[{'#' * filled}{'-' * (self.width - filled)}] {self.done}/{self.total} {self.label}"
                f", {self.failed} failed, {rate:.1f} {self.label}/s, {elapsed:.1f} s")
        self.stream.write(line)
        self.stream.flush()
        self._drawn = True

    def close(self):
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False
