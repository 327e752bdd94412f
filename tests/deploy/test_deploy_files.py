"""The files under deploy/ are checked here, so they cannot drift from the code.

No container engine or helm runs on this machine: the compose file is parsed and its
commands matched against the real CLI, the chart is rendered by a small renderer that
knows only the template actions the chart uses (``helm template`` when helm is on the
PATH), and the Containerfile is linted for the rules that matter to us.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.main import get_command

from launchlink.cli import app
from launchlink.config import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
CHART = DEPLOY / "helm" / "launchlink"


def _commands() -> set[str]:
    return set(get_command(app).commands)  # type: ignore[attr-defined]


def _options_of(command: str) -> set[str]:
    found: set[str] = set()
    for parameter in get_command(app).commands[command].params:  # type: ignore[attr-defined]
        found.update(getattr(parameter, "opts", []))
        found.update(getattr(parameter, "secondary_opts", []))
    return found


def _check_launchlink_args(args: list[str]) -> None:
    """``["web", "--port", "8000", ...]`` must be a real command with real options."""
    assert args, "empty command"
    command, rest = args[0], args[1:]
    assert command in _commands(), f"launchlink has no command {command!r}"
    options = _options_of(command)
    for arg in rest:
        if arg.startswith("--"):
            assert arg.split("=", 1)[0] in options, f"launchlink {command} has no {arg}"


def _compose() -> dict[str, Any]:
    return dict(yaml.safe_load((DEPLOY / "compose.yaml").read_text()))


def test_the_compose_file_runs_real_commands_on_the_shared_services() -> None:
    compose = _compose()
    services = compose["services"]
    assert {"web", "worker", "migrate", "postgres", "redis", "caddy"} <= set(services)
    for name in ("web", "worker", "migrate"):
        service = services[name]
        _check_launchlink_args(service["command"])
        environment = service["environment"]
        assert environment["LAUNCHLINK_DATABASE_URL"].startswith("postgresql+psycopg://")
        assert environment["LAUNCHLINK_REDIS_URL"].startswith("redis://redis:")
    assert services["web"]["depends_on"]["migrate"]["condition"] == (
        "service_completed_successfully"
    )
    assert "/readyz" in " ".join(services["web"]["healthcheck"]["test"])


def test_compose_environment_names_are_real_settings() -> None:
    known = _setting_names()
    services = _compose()["services"]
    for name in ("web", "worker"):
        for variable in services[name]["environment"]:
            assert variable in known, variable
    for line in (DEPLOY / "env.example").read_text().splitlines():
        name = line.split("=", 1)[0].strip()
        if name.startswith("LAUNCHLINK_") and name != "LAUNCHLINK_HOST":
            assert name in known, name


def test_caddy_asks_our_tls_endpoint_and_hides_the_internal_paths() -> None:
    caddyfile = (DEPLOY / "Caddyfile").read_text()
    assert "ask http://web:8000/_internal/tls-allowed" in caddyfile
    assert "on_demand" in caddyfile
    assert re.search(r"@internal path /metrics /_internal/\*\s+respond @internal 404", caddyfile)
    assert caddyfile.count("{") == caddyfile.count("}")


def test_the_containerfile_follows_our_rules() -> None:
    lines = _instructions((DEPLOY / "Containerfile").read_text())
    keywords = [keyword for keyword, _ in lines]
    assert keywords[0] == "FROM"
    for keyword, rest in lines:
        assert keyword in {
            "FROM", "ENV", "WORKDIR", "COPY", "RUN", "USER", "EXPOSE", "HEALTHCHECK",
            "STOPSIGNAL", "ENTRYPOINT", "CMD", "ARG", "LABEL",
        }, keyword  # fmt: skip
        if keyword == "FROM":
            image = rest.split()[0]
            assert ":" in image, f"pin {image}"
            assert not image.endswith(":latest"), f"pin {image}"
    users = [rest for keyword, rest in lines if keyword == "USER"]
    assert users, "the image must name its user"
    assert users[-1] not in ("root", "0"), "the image must not run as root"
    entrypoint = dict(lines)["ENTRYPOINT"]
    assert yaml.safe_load(entrypoint) == ["launchlink"]
    _check_launchlink_args(yaml.safe_load(dict(lines)["CMD"]))
    healthcheck = dict(lines)["HEALTHCHECK"]
    assert "/healthz" in healthcheck
    for keyword, rest in lines:
        if keyword == "COPY" and "--from" not in rest:
            for source in rest.split()[:-1]:
                assert (ROOT / source).exists(), f"COPY {source}: no such file"


def test_systemd_units_start_real_commands() -> None:
    for unit in (DEPLOY / "systemd").glob("*.service"):
        text = unit.read_text()
        (exec_start,) = re.findall(r"^ExecStart=(.+)$", text, re.M)
        args = shlex.split(exec_start)
        assert args[0].endswith("/launchlink")
        _check_launchlink_args([arg.replace("%i", "1") for arg in args[1:]])
        assert "User=launchlink" in text


def test_the_helm_chart_renders_web_and_worker_with_probes_and_budgets() -> None:
    documents = _render_chart()
    kinds = {(doc["kind"], doc["metadata"]["name"]) for doc in documents}
    assert ("Deployment", "rel-launchlink-web") in kinds
    assert ("Deployment", "rel-launchlink-worker") in kinds
    assert ("PodDisruptionBudget", "rel-launchlink-web") in kinds
    assert ("PodDisruptionBudget", "rel-launchlink-worker") in kinds
    deployments = {d["metadata"]["name"]: d for d in documents if d["kind"] == "Deployment"}
    web = deployments["rel-launchlink-web"]["spec"]["template"]["spec"]["containers"][0]
    assert web["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert web["readinessProbe"]["httpGet"]["path"] == "/readyz"
    for deployment in deployments.values():
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        _check_launchlink_args(container["args"])
    budgets = [d for d in documents if d["kind"] == "PodDisruptionBudget"]
    for budget in budgets:
        labels = budget["spec"]["selector"]["matchLabels"]
        matching = [
            d
            for d in deployments.values()
            if d["spec"]["template"]["metadata"]["labels"].items() >= labels.items()
        ]
        assert len(matching) == 1, budget["metadata"]["name"]
    config = next(d for d in documents if d["kind"] == "ConfigMap")
    assert set(config["data"]) <= _setting_names()


def _setting_names() -> set[str]:
    from tests.docs.test_configuration_doc import _env_names

    return set(_env_names(Settings, "LAUNCHLINK_"))


def _instructions(text: str) -> list[tuple[str, str]]:
    joined = re.sub(r"\\\n\s*", " ", text)
    found: list[tuple[str, str]] = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


def _render_chart() -> list[dict[str, Any]]:
    helm = shutil.which("helm")
    if helm is not None:
        rendered = subprocess.run(
            [helm, "template", "rel", str(CHART)], capture_output=True, text=True, check=True
        ).stdout
        return [doc for doc in yaml.safe_load_all(rendered) if doc]
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    documents: list[dict[str, Any]] = []
    for template in sorted((CHART / "templates").glob("*.yaml")):
        rendered = _render(template.read_text(), values)
        documents.extend(doc for doc in yaml.safe_load_all(rendered) if doc)
    return documents


_ACTION = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}")


def _render(text: str, values: dict[str, Any]) -> str:
    """The chart's template actions, and no others (an unknown one fails the test)."""

    def value(path: str) -> Any:
        found: Any = values
        for part in path.removeprefix(".Values.").split("."):
            found = found[part]
        return found

    def action(match: re.Match[str]) -> str:
        expression = match.group(1)
        if expression == 'include "launchlink.name" .':
            return "rel-launchlink"
        if expression == ".Release.Name":
            return "rel"
        quoted = re.fullmatch(r"(\.Values\.[\w.]+) \| quote", expression)
        if quoted:
            return '"' + str(value(quoted.group(1))) + '"'
        if re.fullmatch(r"\.Values\.[\w.]+", expression):
            return str(value(expression))
        pytest.fail(f"the test renderer does not know {{{{ {expression} }}}}")

    return _ACTION.sub(action, text)


def test_the_image_check_script_runs_real_commands() -> None:
    script = DEPLOY / "check-image.sh"
    subprocess.run(["bash", "-n", str(script)], check=True)
    # the script's own `run` wraps `podman run`: what follows the image is launchlink's argv
    invocations = re.findall(
        r'\brun (?:--rm|-d --name \S+) "\$IMAGE" ([^|;&>\n]+)', script.read_text()
    )
    commands = {shlex.split(invocation)[0] for invocation in invocations}
    assert {"migrate", "demo", "doctor", "web", "worker"} <= commands, commands
    for invocation in invocations:
        _check_launchlink_args(shlex.split(invocation))
