"""docs/configuration.md must name every setting, so the doc cannot drift from the code."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from launchlink.config import Settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def _env_names(model: type[BaseModel], prefix: str) -> list[str]:
    names: list[str] = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        env = f"{prefix}{name.upper()}"
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names.extend(_env_names(annotation, f"{env}__"))
        else:
            names.append(env)
    return names


def test_every_setting_is_documented() -> None:
    text = DOC.read_text()
    missing = [name for name in _env_names(Settings, "LAUNCHLINK_") if name not in text]
    assert missing == [], f"document these in docs/configuration.md: {missing}"
