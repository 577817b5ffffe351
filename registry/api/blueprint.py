"""The JSON API blueprint; each domain's ``api.py`` adds its routes to it."""

from flask import Blueprint

api = Blueprint("api", __name__, url_prefix="/api/v1")
