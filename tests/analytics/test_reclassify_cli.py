from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from launchlink.analytics.enrich import CLASSIFIER_VERSION
from launchlink.cli import app

GPTBOT = (
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; "
    "+https://openai.com/gptbot)"
)
FAN = (
    "Mozilla/5.0 (Linux; Android 10; TEST (DIW3930); Build/QTG1.230301.001) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36"
)


def stored(user_agent: str, **extra: object) -> dict[str, object]:
    return {
        "ts": "2027-03-01T12:00:00+00:00",
        "link_id": "0190a0b0-0000-7000-8000-000000000001",
        "workspace_id": "0190a0b0-0000-7000-8000-0000000000aa",
        "kind": "view",
        "user_agent": user_agent,
        "accept": "text/html",
        "referrer": "https://t.co/abc",
        "country": "GB",
        "visitor_hash": "a" * 32,
        **extra,
    }


def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["analytics", "reclassify", *args], input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_replaying_stored_events_fixes_their_class_and_says_how_many_changed(
    tmp_path: Path,
) -> None:
    # As a version-1 classifier stored them: an AI crawler counted as a fan.
    previous_run = [
        {"bot_class": "human", "raw": stored(GPTBOT)},
        {"bot_class": "human", "raw": stored(FAN)},
    ]
    source = tmp_path / "events.jsonl"
    source.write_text("".join(json.dumps(line) + "\n" for line in previous_run) + "\n")
    output = tmp_path / "out.jsonl"
    code, _, stderr = run(str(source), "--output", str(output))
    assert code == 0, stderr
    events = [json.loads(line) for line in output.read_text().splitlines()]
    assert [event["bot_class"] for event in events] == ["ai_agent", "human"]
    assert {event["classifier_version"] for event in events} == {CLASSIFIER_VERSION}
    assert [event["source"] for event in events] == ["x", "x"]
    assert events[0]["country"] == "GB"
    assert events[0]["visitor_hash"] == "a" * 32
    assert f"classifier v{CLASSIFIER_VERSION}: 2 event(s)" in stderr
    assert "1 changed class" in stderr
    # The output is itself replayable.
    code, stdout, _ = run(str(output))
    assert code == 0
    assert [json.loads(line)["bot_class"] for line in stdout.splitlines()] == ["ai_agent", "human"]


def test_events_are_read_from_stdin_by_default() -> None:
    code, stdout, _ = run(stdin=json.dumps(stored("curl/8.5.0")) + "\n")
    assert code == 0
    assert json.loads(stdout)["bot_class"] == "bot"


def test_a_bad_line_is_an_error_naming_the_line_and_field(tmp_path: Path) -> None:
    source = tmp_path / "events.jsonl"
    source.write_text(json.dumps(stored(FAN)) + "\n" + json.dumps(stored(FAN, ts="soon")) + "\n")
    code, stdout, stderr = run(str(source))
    assert code == 2
    assert "line 2" in stderr
    assert "ts" in stderr
    assert "Traceback" not in stdout + stderr


def test_a_stored_ip_address_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "events.jsonl"
    source.write_text(json.dumps(stored(FAN, client_ip="203.0.113.9")) + "\n")
    code, _, stderr = run(str(source))
    assert code == 2
    assert "client_ip" in stderr


def test_not_json_and_a_missing_file_are_clear_errors(tmp_path: Path) -> None:
    source = tmp_path / "events.jsonl"
    source.write_text("{not json\n")
    code, _, stderr = run(str(source))
    assert (code, "line 1" in stderr, "not JSON" in stderr) == (2, True, True)
    code, stdout, stderr = run(str(tmp_path / "missing.jsonl"))
    assert code == 2
    assert "cannot read" in stdout + stderr
