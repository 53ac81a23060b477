"""The WSGI entry point: `flask --app wsgi ...` and `gunicorn wsgi:app`."""

from permits import create_app
from permits.config import ConfigurationRefused

try:
    app = create_app()
except ConfigurationRefused as refused:
    # One line for the operator (CLI and gunicorn alike), not a traceback.
    raise SystemExit(f"permits: {refused}") from None
