"""Lenient readers for service JSON: optional fields may vanish or change type (§6.8)."""

from __future__ import annotations

from typing import Any


def as_dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def as_str(value: object) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def dig(value: object, *keys: str | int) -> Any:
    """``value[k1][k2]…`` or ``None`` as soon as a step is missing or of the wrong type."""
    current: Any = value
    for key in keys:
        if isinstance(key, int):
            if not isinstance(current, list) or not -len(current) <= key < len(current):
                return None
            current = current[key]
        else:
            if not isinstance(current, dict):
                return None
            current = current.get(key)
    return current


def str_tuple(values: object, key: str = "name") -> tuple[str, ...]:
    """The ``key`` string of every object in a list, skipping malformed entries."""
    return tuple(text for item in as_list(values) if (text := as_str(as_dict(item).get(key))))
