"""What every ``twin`` command shares: the consoles, and one red line with exit code 2 for a TwinError."""

from __future__ import annotations

import functools
import signal
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

__all__ = [
    "Interrupted",
    "console",
    "err_console",
    "fail",
    "handles_errors",
    "install_signal_handlers",
    "progress_bar",
]

console = Console()
err_console = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])


def _plain_help_types() -> None:
    """Help without Python type names: typer 0.29 labels a flag ``<bool>`` (as if it took a value) and a
    repeatable option ``<list[str]>``; a flag gets no label, a repeatable option its element's."""
    from typer.core import TyperOption

    shown = TyperOption.display_type_rich

    def display_type_rich(self: TyperOption, ctx: Any) -> str | None:
        if self.is_flag:
            return None
        text = shown(self, ctx)
        return text.replace("<list[", "<").replace("]>", ">...") if text else text

    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


_plain_help_types()


def fail(message: str) -> typer.Exit:
    """Print one red error line and return the exit (code 2) to raise."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(2)


class Interrupted(KeyboardInterrupt):
    """A signal (SIGTERM, SIGHUP, SIGINT) ended the command; raised where the process was, so every
    ``with`` block and ``except BaseException`` cleans up (temporaries removed) on the way out."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


#: Signals turned into :class:`Interrupted` (SIGKILL cannot be caught: its leftovers are swept later,
#: :func:`twin.outputs.folders.sweep_stale`).
CAUGHT_SIGNALS = tuple(
    getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT") if hasattr(signal, n)
)


def _on_signal(signum: int, _frame: Any) -> None:
    for s in CAUGHT_SIGNALS:  # the clean-up that follows must not be cut short by a second signal
        signal.signal(s, signal.SIG_IGN)
    raise Interrupted(signum)


def install_signal_handlers() -> None:
    """Make SIGINT, SIGTERM, SIGHUP and SIGQUIT end the command cleanly (see :class:`Interrupted`)."""
    for s in CAUGHT_SIGNALS:
        signal.signal(s, _on_signal)


def handles_errors(fn: F) -> F:
    """Turn TwinError into one line on stderr and exit code 2; a signal or Ctrl-C into one line and exit
    code 130 (128 + SIGINT's number; 143 for SIGTERM, ...), after the clean-up has run."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except TwinError as exc:
            raise fail(str(exc)) from None
        except KeyboardInterrupt as exc:
            signum = exc.signum if isinstance(exc, Interrupted) else signal.SIGINT
            name = signal.Signals(signum).name
            err_console.print(
                f"[bold red]interrupted[/] ({name}); nothing was written", highlight=False, soft_wrap=True
            )
            raise typer.Exit(128 + int(signum)) from None

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
