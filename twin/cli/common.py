"""What every ``twin`` command shares: the consoles, and one red line with exit code 2 for a TwinError."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from twin.errors import TwinError

__all__ = ["console", "err_console", "fail", "handles_errors", "progress_bar"]

console = Console()
err_console = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str) -> typer.Exit:
    """Print one red error line and return the exit (code 2) to raise."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(2)


def handles_errors(fn: F) -> F:
    """Turn TwinError (and a missing file) into one line on stderr and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except TwinError as exc:
            raise fail(str(exc)) from None
        except KeyboardInterrupt:
            raise fail("interrupted; nothing was written") from None

    return wrapper  # type: ignore[return-value]


def progress_bar(counter: ProgressColumn, *, remaining: bool = False) -> Progress:
    """A transient progress bar on stderr (off when stderr is no terminal): description, bar,
    ``counter`` (e.g. a percentage), elapsed time and, with ``remaining``, the time left."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        counter,
        TimeElapsedColumn(),
        *([TimeRemainingColumn()] if remaining else []),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    )
