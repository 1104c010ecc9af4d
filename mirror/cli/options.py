"""Click options shared by several commands, defined once and stacked as decorators."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


class FolderPath(click.Path):
    """A path argument that refuses "" (an unset variable in a CI script would otherwise
    mean the current folder) and, with check_parents, a path below a file."""

    def __init__(
        self, exists: bool = False, file_okay: bool = False, check_parents: bool = False
    ) -> None:
        super().__init__(exists=exists, file_okay=file_okay, path_type=Path)
        self.check_parents = check_parents

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and not value.strip():
            self.fail("is empty; give a folder path", param, ctx)
        for parent in Path(value).parents if self.check_parents else ():
            if parent.exists():
                if not parent.is_dir():
                    self.fail(f"{value!r}: {parent} is a file, not a folder", param, ctx)
                break
        return super().convert(value, param, ctx)


def finite(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """Option callback: nan and infinity pass click's ranges; refuse them here."""
    if isinstance(value, float) and not math.isfinite(value):
        raise click.BadParameter(f"{value} is not a number of seconds", ctx, param)
    return value


def not_empty(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """Option callback: "" is refused (an unset variable), None (not given) passes."""
    if isinstance(value, str) and not value.strip():
        raise click.BadParameter("is empty", ctx, param)
    if isinstance(value, tuple) and any(isinstance(v, str) and not v.strip() for v in value):
        raise click.BadParameter("is empty", ctx, param)
    return value


def _stack(*decorators: Callable[[F], F]) -> Callable[[F], F]:
    def apply(function: F) -> F:
        for decorator in reversed(decorators):
            function = decorator(function)
        return function

    return apply


connection_options = _stack(
    click.option(
        "--space",
        envvar="CONTENTFUL_SPACE_ID",
        callback=not_empty,
        help="Space id [env: CONTENTFUL_SPACE_ID].",
    ),
    click.option(
        "--access-token",
        envvar="CONTENTFUL_ACCESS_TOKEN",
        help="Delivery (or preview) API token; never stored [env: CONTENTFUL_ACCESS_TOKEN].",
    ),
    click.option(
        "--environment",
        envvar="CONTENTFUL_ENVIRONMENT",
        callback=not_empty,
        help="Environment id; default master [env: CONTENTFUL_ENVIRONMENT].",
    ),
    click.option(
        "--base-url",
        envvar="CONTENTFUL_BASE_URL",
        help="API origin; default https://cdn.contentful.com. Also https://cdn.eu.contentful.com, "
        "https://preview.contentful.com, or the emulator's http://127.0.0.1:PORT "
        "[env: CONTENTFUL_BASE_URL].",
    ),
)

verbose_option = click.option(
    "-v", "--verbose", is_flag=True, help="Show a traceback when something fails."
)

output_options = _stack(
    click.option("--json", "as_json", is_flag=True, help="Print one JSON summary on stdout."),
    click.option("-q", "--quiet", is_flag=True, help="No progress and no summary line."),
    verbose_option,
)
