"""Options and helpers shared by the commands."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click


def _format_names() -> list[str]:
    from ..formats import format_names

    return format_names()


def model_path_option(help_text: str):
    """``--model FILE`` as every command takes it (into ``model_path``), with the command's own help."""
    return click.option(
        "--model", "model_path", type=click.Path(dir_okay=False, path_type=Path), default=None, help=help_text
    )


model_option = model_path_option(
    "Model file (default: the shipped models/default.joblib). Only load model files you trust."
)
input_format_option = click.option(
    "--input-format",
    "input_format",
    type=click.Choice(_format_names()),
    default=None,
    help="Input format; detected from the file when omitted.",
)
sources_option = click.option(
    "--sources",
    default=None,
    metavar="NAMES",
    help="Labeled sources to learn from, comma-separated: blog (data/threads), youtube, sms (public corpora read "
    "from ../shared/datasets or $MODERATION_DATASETS), or none. Default: blog,youtube,sms, what the shipped "
    "model is trained on; with --data, none (only your data) unless given.",
)


def source_names(sources: str | None, has_data: bool) -> tuple[str, ...] | None:
    """``--sources`` as a tuple of names (None: the default), refusing a command with nothing to learn from."""
    if sources is None:
        return None
    names = tuple(name.strip() for name in sources.split(",") if name.strip() and name.strip() != "none")
    if not names and not has_data:
        raise click.UsageError("nothing to train on: give --data, or --sources other than none")
    return names


encoding_option = click.option("--encoding", default=None, help="Text encoding of the input (default UTF-8).")
skip_bad_option = click.option(
    "--skip-bad", is_flag=True, help="Skip malformed threads (each reported on stderr) instead of stopping."
)


def read_options(encoding: str | None, skip_bad: bool) -> dict:
    options: dict = {}
    if encoding:
        options["encoding"] = encoding
    if skip_bad:
        options["skip_bad"] = True
        options["on_problem"] = lambda problem: click.echo(f"warning: skipped: {problem}", err=True)
    return options


class Progress:
    """Progress of long work on stderr: a tqdm bar on a terminal, a plain line every so often otherwise.

    tqdm rather than rich: it is one small pure-Python package with no dependencies of its own, it
    writes only to the stream it is given (stderr, so `score > out.csv` stays clean), and its bar
    copes with an unknown total, which a streamed export has. Off a terminal (cron, CI, a pipe) a
    bar's carriage returns are noise, so a line like "scoring: 12,000 comments" is printed at most
    every ``interval`` seconds instead.
    """

    def __init__(
        self,
        label: str,
        total: int | None = None,
        *,
        unit: str = "comments",
        terminal: bool | None = None,
        interval: float = 10.0,
        clock=time.monotonic,
    ):
        self.label = label
        self.total = total
        self.unit = unit
        self.count = 0
        self.interval = interval
        self._clock = clock
        self._last = clock()
        self._printed: int | None = None  # the count the last line showed
        self._bar = None
        if sys.stderr.isatty() if terminal is None else terminal:
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=label, unit=f" {unit}", file=sys.stderr, leave=False, dynamic_ncols=True)

    def __call__(self, done: int) -> None:
        """``done`` more items are finished."""
        self.count += done
        if self._bar is not None:
            self._bar.update(done)
        elif self._clock() - self._last >= self.interval:
            self._last = self._clock()
            self._line()

    def to(self, count: int, _total: int | None = None) -> None:
        """The library's ``progress(done, total)`` callbacks report a running count; advance to it."""
        self(count - self.count)

    def _line(self) -> None:
        of = f"/{self.total:,}" if self.total else ""
        click.echo(f"{self.label}: {self.count:,}{of} {self.unit}", err=True)
        self._printed = self.count

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        elif self._printed is not None and self._printed != self.count:
            self._line()  # the final count, after the periodic ones, unless the last line already said it

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
