"""Reading configuration from the environment (a `X_FILE` variable wins over `X`, for secrets in files)."""

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured


def get(name: str, default: str | None = None) -> str | None:
    path = os.environ.get(f"{name}_FILE")
    if path:
        return Path(path).read_text().strip()
    return os.environ.get(name, default)


def require(name: str) -> str:
    value = get(name)
    if not value:
        raise ImproperlyConfigured(f"The environment variable {name} is required in production.")
    return value


def flag(name: str, default: bool = False) -> bool:
    value = get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def integer(name: str, default: int) -> int:
    value = get(name)
    return int(value) if value else default


def listing(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in (get(name, default) or "").split(",") if item.strip()]
