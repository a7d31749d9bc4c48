"""A one-line progress bar per fit, fed by the estimators' epoch hook (``verbose=<callable>``)."""

import math
import time

_CLEAR_TO_END = "\x1b[K"  # ANSI: erase what an earlier, longer line left on a terminal


class EpochProgress:
    """Shows ``label [#####.....] epoch/total  loss  seconds`` for one fit.

    Pass an instance as an estimator's ``verbose``: the engine calls it at the end of
    every epoch with ``(epoch, loss, validation_score, learning_rate)``.

    Parameters
    ----------
    label : str
        Name shown in front of the bar.
    total : int
        Number of epochs the fit will run at most.
    stream : text stream or None
        Where to draw; None draws nothing at all (``--quiet``).
    live : bool
        Redraw the line in place at every epoch (a terminal); otherwise write only the
        final line, once, when the fit ends (a log file or a pipe).
    label_width : int, default=0
        Left-aligns the label to this width so that the bars of several fits line up.
    """

    width = 20

    def __init__(self, label, total, stream, live, label_width=0):
        self.label = label
        self.total = max(int(total), 1)
        self.stream = stream
        self.live = live
        self.label_width = label_width
        self.epoch = 0
        self.loss = math.nan
        self._start = time.perf_counter()

    def start(self):
        """Draw the empty bar on a terminal, before the first epoch ends."""
        if self.live:
            self._write("\r" + self.line() + _CLEAR_TO_END)

    def __call__(self, epoch, loss, validation_score=math.nan, learning_rate=math.nan):
        self.epoch, self.loss = int(epoch), float(loss)
        if self.live:
            self._write("\r" + self.line() + _CLEAR_TO_END)

    def line(self):
        """The bar's text for the epochs seen so far."""
        filled = self.width * min(self.epoch, self.total) // self.total
        bar = "#" * filled + "." * (self.width - filled)
        digits = len(str(self.total))
        seconds = time.perf_counter() - self._start
        return (
            f"{self.label:<{self.label_width}} [{bar}] {self.epoch:>{digits}}/{self.total}"
            f"  loss {'-' if math.isnan(self.loss) else format(self.loss, '.4g')}  {seconds:.1f} s"
        )

    def close(self, note=""):
        """End the bar's line; `note` (e.g. "diverged") is appended to it."""
        text = self.line() + (f"  {note}" if note else "")
        self._write(("\r" + text + _CLEAR_TO_END if self.live else text) + "\n")

    def _write(self, text):
        if self.stream is None:
            return
        self.stream.write(text)
        self.stream.flush()
