"""Settings: frozen pydantic models loaded from layered YAML files."""

from workstation.settings.loader import ConfigSources, load_settings, parse_override
from workstation.settings.models import Settings

__all__ = ["ConfigSources", "Settings", "load_settings", "parse_override"]
