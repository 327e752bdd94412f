"""``launchlink doctor`` and ``launchlink workspaces``, as an operator runs them."""

from __future__ import annotations

import socket
from pathlib import Path

from tests._services import REDIS_URL, service_missing, tcp_reachable
from tests.cli.conftest import invoke


def _lines(output: str) -> dict[str, str]:
    """area → "level: message" of the doctor's piped output."""
    found: dict[str, str] = {}
    for line in output.splitlines():
        parts = line.split("\t")
        if len(parts) == 3:
            found.setdefault(parts[1], f"{parts[0]}: {parts[2]}")
    return found


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_doctor_passes_a_migrated_embedded_setup(env: dict[str, str]) -> None:
    code, output = invoke(env, "doctor")
    assert code == 0, output
    found = _lines(output)
    assert found["database"].startswith("ok")
    assert found["migrations"].startswith("ok")
    assert found["encryption keys"].startswith("ok")
    # No credentials: each service is a warning that says what happens, not a failure.
    assert found["service spotify"].startswith("warn")


def test_the_doctor_fails_an_unmigrated_database_and_says_to_migrate(tmp_path: Path) -> None:
    env = {
        "LAUNCHLINK_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'fresh.sqlite3'}",
        "LAUNCHLINK_VAR_DIR": str(tmp_path / "var"),
    }
    code, output = invoke(env, "doctor")
    assert code == 1
    assert _lines(output)["migrations"].startswith("fail")
    assert "launchlink migrate" in output


def test_the_doctor_fails_an_unreachable_database(tmp_path: Path) -> None:
    env = {
        "LAUNCHLINK_DATABASE_URL": f"postgresql+psycopg://nobody:s3cret@127.0.0.1:{_closed_port()}/x",
        "LAUNCHLINK_VAR_DIR": str(tmp_path / "var"),
    }
    code, output = invoke(env, "doctor")
    assert code == 1
    assert _lines(output)["database"].startswith("fail")
    assert "s3cret" not in output


def test_the_doctor_refuses_a_key_that_is_not_a_fernet_key(env: dict[str, str]) -> None:
    code, output = invoke({**env, "LAUNCHLINK_ENCRYPTION_KEYS": "not-a-key"}, "doctor")
    assert code == 1
    assert "not Fernet keys" in _lines(output)["encryption keys"]
    assert "Fernet.generate_key" in output


def test_the_doctor_fails_unreachable_redis_and_mail(env: dict[str, str]) -> None:
    port = _closed_port()
    code, output = invoke(
        {
            **env,
            "LAUNCHLINK_REDIS_URL": f"redis://127.0.0.1:{port}/0",
            "LAUNCHLINK_MAIL__HOST": "127.0.0.1",
            "LAUNCHLINK_MAIL__PORT": str(port),
        },
        "doctor",
    )
    assert code == 1
    found = _lines(output)
    assert found["redis"].startswith("fail")
    assert found["mail"].startswith("fail")


def test_the_doctor_reaches_a_running_redis(env: dict[str, str]) -> None:
    if not tcp_reachable("127.0.0.1", 6379):
        service_missing("Redis", "nothing listens on 127.0.0.1:6379")
    code, output = invoke({**env, "LAUNCHLINK_REDIS_URL": REDIS_URL}, "doctor")
    assert code == 0, output
    assert _lines(output)["redis"].startswith("ok")


def test_the_doctor_fails_production_over_plain_http(env: dict[str, str]) -> None:
    code, output = invoke(
        {
            **env,
            "LAUNCHLINK_ENVIRONMENT": "production",
            "LAUNCHLINK_PUBLIC_URL": "http://links.example.com",
        },
        "doctor",
    )
    assert code == 1
    assert "LAUNCHLINK_PUBLIC_URL=https://" in output


def _on_sqlite(env: dict[str, str]) -> bool:
    return env["LAUNCHLINK_DATABASE_URL"].startswith("sqlite")


def test_a_one_off_doctor_does_not_warn_of_a_worker_no_web_process_will_run(
    env: dict[str, str],
) -> None:
    # `docker run image launchlink doctor` with the image's defaults: the variable is unset,
    # so `launchlink web` (the image's command) serves only; nothing to fix.
    code, output = invoke(env, "doctor")
    assert code == 0, output
    finding = _lines(output)["process model"]
    assert finding.startswith("ok: ")
    if _on_sqlite(env):
        assert "embedded: `launchlink serve` runs the web app and fulfilment" in finding
    else:
        assert "`launchlink web` serves requests only and `launchlink worker` runs" in finding
        assert "`launchlink serve` would run them in every web process" in finding


def test_the_doctor_warns_when_web_processes_are_told_to_run_a_worker_on_a_shared_database(
    env: dict[str, str],
) -> None:
    code, output = invoke({**env, "LAUNCHLINK_EMBEDDED_WORKER": "true"}, "doctor", "--for", "web")
    assert code == 0, output
    finding = _lines(output)["process model (web)"]
    if _on_sqlite(env):
        # One host, one file: a worker in the web process is the embedded shape.
        assert finding.startswith("ok: LAUNCHLINK_EMBEDDED_WORKER=true: each web process")
    else:
        assert finding.startswith("warn: LAUNCHLINK_EMBEDDED_WORKER=true: every `launchlink web`")
        assert "-> unset LAUNCHLINK_EMBEDDED_WORKER" in finding
        assert "run `launchlink worker` processes" in finding


def test_the_doctor_for_web_says_a_worker_must_run_beside_it(env: dict[str, str]) -> None:
    code, output = invoke(env, "doctor", "--for", "web")
    assert code == 0, output
    finding = _lines(output)["process model (web)"]
    assert finding.startswith("ok: `launchlink web` serves requests only")
    assert "need at least one `launchlink worker` running" in finding


def test_the_doctor_warns_that_serve_without_its_worker_fulfils_nothing_alone(
    env: dict[str, str],
) -> None:
    code, output = invoke(
        {**env, "LAUNCHLINK_EMBEDDED_WORKER": "false"}, "doctor", "--for", "serve"
    )
    assert code == 0, output
    finding = _lines(output)["process model (serve)"]
    assert finding.startswith("warn: LAUNCHLINK_EMBEDDED_WORKER=false: `launchlink serve`")
    assert "-> run `launchlink worker` beside it, or unset LAUNCHLINK_EMBEDDED_WORKER" in finding


def test_the_doctor_for_a_worker_ignores_the_embedded_worker_setting(env: dict[str, str]) -> None:
    code, output = invoke(
        {**env, "LAUNCHLINK_EMBEDDED_WORKER": "true"}, "doctor", "--for", "worker"
    )
    assert code == 0, output
    finding = _lines(output)["process model (worker)"]
    assert finding.startswith("ok: `launchlink worker` runs fulfilment, outbox delivery")
    assert "LAUNCHLINK_EMBEDDED_WORKER does not apply to it" in finding


def test_the_doctor_refuses_a_process_it_does_not_know(env: dict[str, str]) -> None:
    code, output = invoke(env, "doctor", "--for", "migrate")
    assert code == 2
    assert "Invalid value for '--for'" in output
    assert "'migrate' is not one of 'serve'," in output


def test_workspaces_are_listed_one_per_line_when_piped(env: dict[str, str]) -> None:
    for name in ("Zephyr Sound", "Acme Records"):
        code, made = invoke(env, "create-workspace", "--name", name)
        assert code == 0, made
    code, output = invoke(env, "workspaces")
    assert code == 0, output
    rows = [line.split("\t") for line in output.strip().splitlines()]
    assert [row[1] for row in rows] == ["Acme Records", "Zephyr Sound"]
    assert all(row[2] == "label" and row[3] == "0" for row in rows)
