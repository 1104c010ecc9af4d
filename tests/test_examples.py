"""The CI examples are valid YAML and use only commands and options mirror has."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from mirror.cli import cli
from tests.conftest import REPO

WORKFLOW = REPO / "examples" / "github-actions" / "sync-content.yml"
REVIEW = REPO / "examples" / "github-actions" / "review-content.yml"


def _steps(path: Path) -> list[dict[str, Any]]:
    workflow = yaml.safe_load(path.read_text())
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


def _mirror_calls(path: Path = WORKFLOW) -> list[list[str]]:
    workflow = yaml.safe_load(path.read_text())
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


def test_the_review_workflow_runs_on_a_schedule_and_on_a_webhook_with_full_history() -> None:
    workflow = yaml.safe_load(REVIEW.read_text())
    triggers = workflow.get("on") or workflow.get(True)  # YAML 1.1 reads `on` as true
    assert {"schedule", "repository_dispatch", "workflow_dispatch"} <= set(triggers)
    assert workflow["permissions"] == {"contents": "write", "pull-requests": "write"}
    checkout = _steps(REVIEW)[0]
    assert checkout["uses"].startswith("actions/checkout@")
    assert checkout["with"] == {"ref": "main", "fetch-depth": 0}  # --branch needs history


def test_every_mirror_call_of_the_review_workflow_is_one_the_cli_takes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Parsed by the real commands: every option, choice and range is checked."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data" / "cms").mkdir(parents=True)
    calls = _mirror_calls(REVIEW)
    for call in calls:
        assert call[0] in cli.commands, f"mirror has no command {call[0]}"
        with cli.commands[call[0]].make_context(call[0], call[1:]):
            pass
    sync = [call for call in calls if call[0] == "sync"]
    assert len(sync) == 1 and sync[0][sync[0].index("--branch") + 1] == "content/sync"
    assert "--push" in sync[0] and "--json" in sync[0]
    diffs = {call[call.index("--format") + 1]: call for call in calls if call[0] == "diff"}
    assert set(diffs) == {"markdown", "html"}
    assert all(call[1:3] == ["data/cms", "origin/main..content/sync"] for call in diffs.values())
    markdown = diffs["markdown"]
    assert int(markdown[markdown.index("--max-chars") + 1]) <= 65536  # GitHub's body limit
    assert "--report-url" in markdown and "--output" in diffs["html"]


def test_the_review_workflow_attaches_the_report_and_keeps_one_pull_request() -> None:
    steps = _steps(REVIEW)
    html = next(s for s in steps if "--format html" in s.get("run", ""))
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact@"))
    output = shlex.split(html["run"])
    assert upload["with"]["path"] == output[output.index("--output") + 1]
    assert steps.index(upload) < steps.index(
        next(s for s in steps if "--report-url" in s.get("run", ""))
    )
    assert "steps.report.outputs.artifact-url" in str(steps) and upload["id"] == "report"
    pull_request = next(s for s in steps if "gh pr create" in s.get("run", ""))
    assert (
        "gh pr edit" in pull_request["run"]
        and "gh pr list --head content/sync" in pull_request["run"]
    )
    assert pull_request["env"] == {"GH_TOKEN": "${{ github.token }}"}
    assert "examples/github-actions/review-content.yml" in (REPO / "README.md").read_text()
