"""The WSGI entry point for gunicorn: ``gunicorn -c config/gunicorn.conf.py registry.wsgi:app``."""

from registry.app import create_app

app = create_app()
