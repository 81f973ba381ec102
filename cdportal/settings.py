"""cdportal's one settings file: the environment is read here, once (see cdportal/env.py)."""

import sys
from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from cdportal.env import (
    check_for_typos,
    env_channel_layer,
    env_database,
    env_registry_credentials,
    envbool,
    envchoice,
    envint,
    envlist,
    envnetworks,
    envsecret,
    envstr,
)

BASE_DIR = Path(__file__).resolve().parent.parent

check_for_typos()

DEBUG = envbool("DEBUG", False)
# Required to serve (cdportal.asgi and the `cdportal.E001` check refuse to start without it when
# DEBUG is off), but not for commands that sign nothing, such as `release-plan` in a CI job.
SECRET_KEY = envsecret("SECRET_KEY") or (
    "insecure-development-key-only-used-with-DEBUG-true" if DEBUG else ""
)

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", [])
for origin in CSRF_TRUSTED_ORIGINS:
    if "://" not in origin:
        raise ImproperlyConfigured(
            f"CSRF_TRUSTED_ORIGINS entries need a scheme (https://{origin}), got {origin!r}"
        )

# daphne's app only replaces `runserver` with daphne's (its import installs Twisted's reactor,
# a third of a second): other commands, the tests and `daphne cdportal.asgi:application`
# itself do without it.
SERVING = sys.argv[1:2] == ["runserver"]
INSTALLED_APPS = [
    *(["daphne"] if SERVING else []),
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "template_partials",
    "csp",
    "axes",
    "ninja",  # its templates and static files: /api/docs serves Swagger UI from here, no CDN
    "cdportal.pipeline",
    "cdportal.web",
    "cdportal.live",
    "cdportal.api",
    "cdportal.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "cdportal.middleware.refuse_control_characters",  # a NUL in the path: 400, not a 500
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # After WhiteNoise, so static files keep their own caching headers.
    "cdportal.middleware.private_no_store",
    "cdportal.middleware.ContentSecurityPolicy",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Every page needs a login; the API answers 401 itself (see cdportal/api).
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "cdportal.urls"
ASGI_APPLICATION = "cdportal.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": env_database("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'cdportal.sqlite3'}")
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CHANNEL_LAYERS = {"default": env_channel_layer("REDIS_URL")}
LIVE_COALESCE_MS = envint("LIVE_COALESCE_MS", 150, minimum=0)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:overview"
LOGOUT_REDIRECT_URL = "web:login"

# Database sessions: the live socket reads the row to notice logouts and expiry. Django's
# database store, remembering the loaded row's expiry for the live socket's connect.
SESSION_ENGINE = "cdportal.live.sessions"
SESSION_COOKIE_AGE = envint("SESSION_COOKIE_AGE", 14 * 24 * 3600, minimum=60)
SESSION_COOKIE_SAMESITE = CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# HTTPS: TLS ends at a proxy in front of daphne. Which requests came in over https is decided in
# cdportal/edge.py (X-Forwarded-Proto, believed only from TRUSTED_PROXIES), so Django needs no
# SECURE_PROXY_SSL_HEADER, which would believe that header from any client.
HTTPS = envbool("HTTPS", False)
TRUSTED_PROXIES = envnetworks("TRUSTED_PROXIES")
SECURE_COOKIES = envbool("SECURE_COOKIES", HTTPS or not DEBUG)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = SECURE_COOKIES
SECURE_SSL_REDIRECT = HTTPS
# Probes talk plain http to the pod, past the proxy.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = envint("HSTS_SECONDS", 365 * 24 * 3600 if HTTPS else 0, minimum=0)
# Only hosts under cdportal's own name (cd.example.com -> *.cd.example.com).
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
# Preloading commits the whole registrable domain, which is its owner's decision, not one
# service's: cdportal does not ask for it (check --deploy's security.W021).
SILENCED_SYSTEM_CHECKS = ["security.W021"]

# Content-Security-Policy (django-csp): nothing inline, nothing from another origin. The live
# socket's ws:// / wss:// URL is added per request (cdportal.middleware.ContentSecurityPolicy).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        # Swagger UI's stylesheet draws its icons as data: SVGs.
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Login throttling (django-axes): LOGIN_FAILURE_LIMIT wrong passwords for one user name from one
# address lock that pair for LOGIN_LOCKOUT_SECONDS. The address is the one cdportal/edge.py
# settled on (REMOTE_ADDR); API tokens never go through authenticate() and are not counted.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = envint("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(seconds=envint("LOGIN_LOCKOUT_SECONDS", 900, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "cdportal.middleware.client_address"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "cdportal.web.views.locked_out"
AXES_VERBOSE = False  # no banner on every start; lockouts are still logged

# Request bodies (cdportal/edge.py refuses larger ones with 413 before they are read).
MAX_REQUEST_BYTES = envint("MAX_REQUEST_BYTES", 2_621_440, minimum=1024)
REQUEST_BODY_LIMITS = {
    "/api/webhooks/github": envint("MAX_WEBHOOK_BYTES", 26_214_400, minimum=1024)
}
# Django's own check, for requests that arrive some other way (tests, runserver): the largest
# body cdportal/edge.py lets through.
DATA_UPLOAD_MAX_MEMORY_SIZE = max(MAX_REQUEST_BYTES, *REQUEST_BODY_LIMITS.values())

LANGUAGE_CODE = "en-us"
TIME_ZONE = envstr("TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # No manifest: vendored files carry their version in the name, and pages must render
        # even where collectstatic has not run (tests, `make demo`).
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
    },
}
# Serve straight from static/ when collectstatic has not run (development, tests, `make demo`).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

LOG_LEVEL = envchoice("LOG_LEVEL", "INFO", {"DEBUG", "INFO", "WARNING", "ERROR"})
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.channels.server": {"level": "WARNING"},
        # One line per outgoing request is noise at INFO (the demo posts an event a second).
        "httpx": {"level": "WARNING"},
    },
}

NINJA_PAGINATION_PER_PAGE = 50

GIT_CACHE_DIR = envstr("GIT_CACHE_DIR", str(BASE_DIR / ".cache" / "git"))

# GitHub (cdportal.adapters.github*). Secrets are read here once and never logged or rendered.
GITHUB_API_URL = envstr("GITHUB_API_URL", "https://api.github.com").rstrip("/")
if not GITHUB_API_URL.startswith(("https://", "http://")):
    raise ImproperlyConfigured(f"GITHUB_API_URL must be an http(s) URL, got {GITHUB_API_URL!r}")
GITHUB_TOKEN = envsecret("GITHUB_TOKEN")
GITHUB_WEBHOOK_SECRET = envsecret("GITHUB_WEBHOOK_SECRET")
GITHUB_REPOSITORIES = envlist("GITHUB_REPOSITORIES", [])
for _name in GITHUB_REPOSITORIES:
    if _name.count("/") != 1 or not all(_name.split("/")):
        raise ImproperlyConfigured(f"GITHUB_REPOSITORIES entries must be OWNER/NAME, got {_name!r}")
GITHUB_POLL_SECONDS = envint("GITHUB_POLL_SECONDS", 60, minimum=5)
GITHUB_RELEASE_WORKFLOW = envstr("GITHUB_RELEASE_WORKFLOW", "release-please.yaml")
GITHUB_BUILD_WORKFLOW = envstr("GITHUB_BUILD_WORKFLOW", "binaries-release.yaml")
# PyGithub's courtesy pauses between requests (1 s between writes); tests and the demo's
# simulated GitHub turn them off.
GITHUB_PAUSE = envbool("GITHUB_PAUSE", True)

# Container registries (cdportal.adapters.registry*). Credentials are references (env:VAR,
# pullsecret:NS/NAME, secret:NS/NAME#FIELD), resolved when a registry is first contacted.
REGISTRY_IMAGES = envlist("REGISTRY_IMAGES", [])
for _image in REGISTRY_IMAGES:
    if "/" not in _image or "@" in _image or _image != _image.lower():
        raise ImproperlyConfigured(
            f"REGISTRY_IMAGES entries must be lowercase HOST/NAMESPACE/NAME without tag or digest, got {_image!r}"
        )
REGISTRY_POLL_SECONDS = envint("REGISTRY_POLL_SECONDS", 120, minimum=5)
REGISTRY_CREDENTIALS = env_registry_credentials("REGISTRY_CREDENTIALS")
REGISTRY_MAX_RPS = envint("REGISTRY_MAX_RPS", 10, minimum=0)
REGISTRY_WEBHOOK_TOKEN = envsecret("REGISTRY_WEBHOOK_TOKEN")
REGISTRY_PUBLIC_HOST = envstr("REGISTRY_PUBLIC_HOST", "").lower()
if "/" in REGISTRY_PUBLIC_HOST:
    raise ImproperlyConfigured(
        f"REGISTRY_PUBLIC_HOST must be HOST[:PORT], got {REGISTRY_PUBLIC_HOST!r}"
    )

# Webhook deliveries are processed after their answer (cdportal/api/deliveries.py): by a worker
# thread in each web process unless turned off here for dedicated `process-deliveries` workers.
WEBHOOK_WORKER_IN_WEB = envbool("WEBHOOK_WORKER_IN_WEB", True)

# Kubernetes / Argo CD (cdportal.adapters.kubernetes, `manage.py watch-argocd`).
KUBECONFIG = envstr("KUBECONFIG", "")
KUBE_CONTEXT = envstr("KUBE_CONTEXT", "")
ARGOCD_NAMESPACES = envlist("ARGOCD_NAMESPACES", ["argocd"])
# Needs attention (cdportal.pipeline.attention): how long Argo CD is given to resolve an OutOfSync
# or Progressing application by itself when no history says how long it usually takes.
ATTENTION_GRACE_SECONDS = envint("ATTENTION_GRACE_SECONDS", 180, minimum=0)
# The Argo CD Image Updater (cdportal.pipeline.updater_actions).
UPDATER_NAMESPACE = envstr("UPDATER_NAMESPACE", "")
UPDATER_DEPLOYMENT = envstr("UPDATER_DEPLOYMENT", "")
UPDATER_ROLLOUT_TIMEOUT = envint("UPDATER_ROLLOUT_TIMEOUT", 300, minimum=10)
# `manage.py demo` only: the file its break control writes (cdportal.demo.breaks); set, /demo/ is served.
DEMO_BREAK_FILE = envstr("DEMO_BREAK_FILE", "")
