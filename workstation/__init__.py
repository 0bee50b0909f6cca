"""Open Alpha Workstation: a desktop trading workstation that is safe by default."""

__version__ = "0.1.0"
APP_NAME = "Open Alpha Workstation"
APP_SLUG = "open-alpha-workstation"
