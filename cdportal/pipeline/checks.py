"""System checks: no start without a signing key when DEBUG is off."""

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from cdportal.env import SECRET_KEY_MISSING, require_secret_key


@checks.register()
def secret_key_configured(app_configs, **kwargs):
    """`check`, `migrate` and the server refuse to run without a signing key (DEBUG off)."""
    try:
        require_secret_key(settings)
    except ImproperlyConfigured:
        return [checks.Error(SECRET_KEY_MISSING, id="cdportal.E001")]
    return []
