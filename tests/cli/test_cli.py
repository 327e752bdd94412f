from __future__ import annotations

from tests.cli.conftest import invoke


def test_migrate_reports_an_up_to_date_database(env: dict[str, str]) -> None:
    code, output = invoke(env, "migrate")
    assert code == 0, output
    assert "up to date" in output


def test_an_api_key_is_printed_once_for_an_existing_workspace(env: dict[str, str]) -> None:
    code, workspace_id = invoke(env, "create-workspace", "--name", "Acme Records")
    assert code == 0, workspace_id
    code, output = invoke(env, "create-api-key", "--workspace", "Acme Records", "--role", "viewer")
    assert code == 0, output
    assert output.strip().splitlines()[-1].startswith("ll_")


def test_an_unknown_workspace_is_a_clear_error_naming_the_option(env: dict[str, str]) -> None:
    code, output = invoke(env, "create-api-key", "--workspace", "Nobody Records")
    assert code == 2
    assert "workspace" in output
    assert "Nobody Records" in output
    assert "Traceback" not in output


def test_a_bad_role_is_refused_by_the_command_line(env: dict[str, str]) -> None:
    code, output = invoke(env, "create-api-key", "--workspace", "x", "--role", "god")
    assert code == 2
    assert "--role" in output


def test_a_user_with_a_short_password_is_refused(env: dict[str, str]) -> None:
    code, output = invoke(env, "create-user", "--email", "a@example.com", "--password", "short")
    assert code == 2
    assert "password" in output


def test_a_user_with_a_bad_email_is_refused(env: dict[str, str]) -> None:
    code, output = invoke(
        env, "create-user", "--email", "not-an-email", "--password", "long enough pw"
    )
    assert code == 2
    assert "email" in output


def test_a_user_joins_a_workspace(env: dict[str, str]) -> None:
    invoke(env, "create-workspace", "--name", "Acme Records")
    code, output = invoke(
        env,
        "create-user",
        "--email",
        "Ops@Example.com",
        "--workspace",
        "Acme Records",
        "--password",
        "long enough pw",
    )
    assert code == 0, output
    code, output = invoke(
        env, "create-user", "--email", "ops@example.com", "--password", "long enough pw"
    )
    assert code == 2
    assert "already exists" in output


def test_serve_refuses_an_unknown_server(env: dict[str, str]) -> None:
    code, output = invoke(env, "serve", "--server", "gunicorn", "--no-migrate")
    assert code == 2
    assert "granian or uvicorn" in output


def test_serve_refuses_an_out_of_range_port(env: dict[str, str]) -> None:
    code, output = invoke(env, "serve", "--port", "70000")
    assert code == 2
    assert "--port" in output


def test_a_worker_starts_and_stops_cleanly_on_ctrl_c(env: dict[str, str]) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    invoke(env, "migrate")
    launchlink = os.path.join(os.path.dirname(sys.executable), "launchlink")
    worker = subprocess.Popen(
        [launchlink, "worker"],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        # Wait for the worker to say it runs (a fixed sleep lost the race on a busy machine).
        assert worker.stdout is not None
        started: list[str] = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = worker.stdout.readline()
            if not line:
                break  # it exited: the assertion below shows why
            started.append(line)
            if "fulfilment worker" in line and "started" in line:
                break
        assert worker.poll() is None, "".join(started)
        time.sleep(0.5)  # its lanes and the reminder loop polling
        worker.send_signal(signal.SIGINT)
        output, _ = worker.communicate(timeout=30)
        output = "".join(started) + output
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate()
    assert worker.returncode == 0, output
    assert "worker stopped after 0 job(s)" in output
    assert "Traceback" not in output


def test_services_lists_what_pages_can_offer_and_what_to_configure(env: dict[str, str]) -> None:
    configured = env | {"LAUNCHLINK_CONNECTORS__SPOTIFY__CLIENT_ID": "my-app", "COLUMNS": "300"}
    code, output = invoke(configured, "services")
    assert code == 0, output
    lines = output.splitlines()
    spotify = next(line for line in lines if "spotify" in line and "direct_save" in line)
    assert " no " in spotify
    assert "LAUNCHLINK_CONNECTORS__SPOTIFY__CLIENT_SECRET" in spotify
    reminder = next(line for line in lines if "spotify" in line and "reminder" in line)
    assert " yes " in reminder
    assert "bandcamp" not in output
    code, output = invoke(configured, "services", "--all")
    assert code == 0, output
    assert "bandcamp" in output
