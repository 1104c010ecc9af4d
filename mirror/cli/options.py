"""Click options shared by several commands, defined once and stacked as decorators."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def _stack(*decorators: Callable[[F], F]) -> Callable[[F], F]:
    def apply(function: F) -> F:
        for decorator in reversed(decorators):
            function = decorator(function)
        return function

    return apply


connection_options = _stack(
    click.option(
        "--space", envvar="CONTENTFUL_SPACE_ID", help="Space id [env: CONTENTFUL_SPACE_ID]."
    ),
    click.option(
        "--access-token",
        envvar="CONTENTFUL_ACCESS_TOKEN",
        help="Delivery (or preview) API token; never stored [env: CONTENTFUL_ACCESS_TOKEN].",
    ),
    click.option(
        "--environment",
        envvar="CONTENTFUL_ENVIRONMENT",
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

output_options = _stack(
    click.option("--json", "as_json", is_flag=True, help="Print one JSON summary on stdout."),
    click.option("-q", "--quiet", is_flag=True, help="No progress and no summary line."),
    click.option("-v", "--verbose", is_flag=True, help="Show a traceback when something fails."),
)
