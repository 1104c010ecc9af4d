"""The CI example is valid YAML and uses only commands and options mirror has."""

from __future__ import annotations

import shlex

import yaml

from mirror.cli import cli
from tests.conftest import REPO

WORKFLOW = REPO / "examples" / "github-actions" / "sync-content.yml"


def _mirror_calls() -> list[list[str]]:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    calls = []
    for job in workflow["jobs"].values():
        for step in job["steps"]:
            script = step.get("run", "").replace("\\\n", " ")
            for line in script.splitlines():
                words = shlex.split(line)
                words = words[: words.index(">")] if ">" in words else words
                if words[:1] == ["mirror"]:
                    calls.append(words[1:])
    return calls


def test_the_workflow_runs_on_a_schedule_and_on_a_webhook() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    triggers = workflow.get("on") or workflow.get(True)  # YAML 1.1 reads `on` as true
    assert "schedule" in triggers and "repository_dispatch" in triggers
    assert workflow["permissions"] == {"contents": "write"}


def test_the_workflow_uses_only_documented_commands_and_options() -> None:
    calls = _mirror_calls()
    assert {call[0] for call in calls} >= {"sync", "verify", "log"}
    for call in calls:
        command = cli.commands[call[0]]
        known = {opt for param in command.params for opt in getattr(param, "opts", [])}
        for word in call[1:]:
            if word.startswith("-"):
                assert word in known, f"mirror {call[0]} has no option {word}"
    readme = (REPO / "README.md").read_text()
    assert "examples/github-actions/sync-content.yml" in readme
