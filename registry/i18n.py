"""Translation helpers: every user-visible string goes through these."""

from flask_babel import lazy_gettext as _  # noqa: F401  (re-exported)
from flask_babel import lazy_ngettext as ngettext  # noqa: F401

LOCALES = ("en", "ru", "kk")
