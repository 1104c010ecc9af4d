"""The README and --help stay true: every command has help, every option is documented."""

from __future__ import annotations

import re

import click
import pytest

from mirror.cli import cli
from tests.conftest import REPO, mirror

README = (REPO / "README.md").read_text(encoding="utf-8")
COMMANDS = sorted(cli.commands)


def test_the_commands_are_the_documented_ones() -> None:
    assert {"sync", "serve", "demo"} <= set(COMMANDS)


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_has_help_with_an_example(name: str) -> None:
    result = mirror(name, "--help")
    assert result.exit_code == 0
    assert "Example:" in result.stdout
    assert f"`mirror {name}" in README


@pytest.mark.parametrize("name", COMMANDS)
def test_every_option_appears_in_the_readme(name: str) -> None:
    command = cli.commands[name]
    for parameter in command.params:
        if isinstance(parameter, click.Option) and parameter.name != "help":
            longest = max(parameter.opts, key=len)
            assert f"`{longest}" in README, f"{name} {longest} is not in the README"


def test_quick_start_is_exactly_two_commands() -> None:
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
    commands = [line for block in blocks for line in block.splitlines() if line.strip()]
    assert commands == [
        "python3 -m venv .venv && .venv/bin/pip install -q . "
        "&& .venv/bin/mirror demo ./travel-guide",
        "bash .ci/test",
    ]


def test_exit_codes_agree_between_help_and_readme() -> None:
    from mirror.errors import EXIT_CODES

    for code in EXIT_CODES:
        assert f"| {code} |" in README


@pytest.mark.parametrize("name", COMMANDS)
def test_each_command_lists_only_its_own_exit_codes(name: str) -> None:
    epilog = cli.commands[name].epilog or ""
    codes = re.findall(r"^\s+(\d+)\s", epilog, re.M)
    assert codes and codes[0] == "0" and "1" in codes, epilog
    if name != "sync":
        assert "3" not in codes and "4" not in codes, f"{name} cannot fail authentication"
