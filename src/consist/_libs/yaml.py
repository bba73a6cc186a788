"""Gateway to PyYAML (the ``activitysim`` extra): import it or name the extra to install."""

from __future__ import annotations

from typing import Any

from consist.errors import MissingDependencyError


def import_yaml() -> Any:
    try:
        import yaml
    except ImportError as exc:
        raise MissingDependencyError(
            "Reading YAML configs needs PyYAML, which is not installed.",
            fix="pip install 'consist[activitysim]'",
        ) from exc
    return yaml
