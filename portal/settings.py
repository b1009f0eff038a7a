"""Portico settings, read from the environment.

Two profiles, chosen by ``PORTICO_ENV``:

* ``development`` (the default) serves the demo: SQLite under ``var/``, a
  SQLite-brokered Celery worker, the console e-mail backend, a local cache.
* ``production`` has no usable defaults for secrets or hosts, expects
  PostgreSQL, Redis and TLS in front, and passes ``check --deploy``.

Every variable is listed in the README.
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()

PORTICO_ENV = env.str("PORTICO_ENV", default="development")
if PORTICO_ENV not in {"development", "production"}:
    raise ImproperlyConfigured("PORTICO_ENV must be 'development' or 'production'.")
PRODUCTION = PORTICO_ENV == "production"


def _required_in_production(name: str, development_default: str) -> str:
    if PRODUCTION:
        return env.str(name)
    return env.str(name, default=development_default)


# --- Core -------------------------------------------------------------------

SECRET_KEY = _required_in_production(
    "SECRET_KEY", "development-only-key-never-used-in-production-0123456789abcdef"
)
DEBUG = env.bool("DEBUG", default=not PRODUCTION)
ALLOWED_HOSTS = (
    env.list("ALLOWED_HOSTS")
    if PRODUCTION
    else env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
PORTICO_BASE_URL = env.str("PORTICO_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "template_partials",
    "django_celery_beat",
    "portal",
    "tenants",
    "apis",
    "analytics",
]

MIDDLEWARE = [
    "portal.observability.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

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
                "portal.context_processors.shell",
            ],
        },
    },
]

# --- Data -------------------------------------------------------------------

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'portico.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The demo's web process and worker share the file: WAL lets readers run
    # beside the writer, IMMEDIATE makes writers queue instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

_cache_url = env.str("CACHE_URL") if PRODUCTION else env.str("CACHE_URL", default="locmemcache://")
if _cache_url.startswith(("redis://", "rediss://")):
    # Django's own Redis backend: no extra client library needed.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": _cache_url,
        }
    }
else:
    CACHES = {"default": environ.Env.cache_url_config(_cache_url)}

# --- Authentication ---------------------------------------------------------

AUTH_USER_MODEL = "tenants.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"

ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Portico] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if PRODUCTION else "http"
ACCOUNT_SIGNUP_ENABLED = env.bool("SIGNUP_ENABLED", default=True)
ACCOUNT_ADAPTER = "tenants.adapters.AccountAdapter"
# allauth's rate limits are on by default; they count in the default cache,
# which production must point at Redis so every process shares the counts.
ACCOUNT_RATE_LIMITS = {
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "20/m/ip",
    "confirm_email": "1/3m/key",
    "reset_password": "20/m/ip,5/m/key",
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = env.str("MFA_TOTP_ISSUER", default="Portico")

SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_PROVIDERS: dict = {}
OIDC_SERVER_URL = env.str("OIDC_SERVER_URL", default="")
if OIDC_SERVER_URL:
    SOCIALACCOUNT_PROVIDERS["openid_connect"] = {
        "OAUTH_PKCE_ENABLED": True,
        "APPS": [
            {
                "provider_id": env.str("OIDC_PROVIDER_ID", default="sso"),
                "name": env.str("OIDC_PROVIDER_NAME", default="Single sign-on"),
                "client_id": env.str("OIDC_CLIENT_ID"),
                "secret": env.str("OIDC_CLIENT_SECRET", default=""),
                "settings": {
                    "server_url": OIDC_SERVER_URL,
                    "token_auth_method": env.str(
                        "OIDC_TOKEN_AUTH_METHOD", default="client_secret_basic"
                    ),
                },
            }
        ],
    }

# --- Secrets the portal keeps (tenants.sealing) --------------------------------

PORTICO_ENCRYPTION_KEYS = (
    env.list("PORTICO_ENCRYPTION_KEYS")
    if PRODUCTION
    else env.list("PORTICO_ENCRYPTION_KEYS", default=[])
)

# --- Tenancy ----------------------------------------------------------------

INVITATION_EXPIRY_DAYS = env.int("INVITATION_EXPIRY_DAYS", default=7)
ACCESS_TOKEN_MAX_DAYS = env.int("ACCESS_TOKEN_MAX_DAYS", default=365)

# --- REST API ---------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "tenants.authentication.AccessTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "tenants.permissions.TokenScopePermission",
    ],
    "DEFAULT_PAGINATION_CLASS": "portal.api.pagination.Pagination",
    "PAGE_SIZE": env.int("API_PAGE_SIZE", default=50),
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "portal.api.errors.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_THROTTLE_RATES": {"user": env.str("API_RATE_LIMIT", default="6000/hour")},
    "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.UserRateThrottle"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
API_MAX_PAGE_SIZE = 200

SPECTACULAR_SETTINGS = {
    "TITLE": "Portico API",
    "DESCRIPTION": (
        "Automation API of the Portico developer portal. Authenticate with a personal "
        "access token: `Authorization: Bearer pat_...`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    # No validator badge: it would send the schema's URL to validator.swagger.io.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "ENUM_NAME_OVERRIDES": {
        "OrgRoleEnum": "tenants.roles.OrgRole",
        "TeamRoleEnum": "tenants.roles.TeamRole",
        "ApiVisibilityEnum": "apis.models.Api.Visibility",
        "ApiKindEnum": "apis.models.Api.Kind",
        "ApiVersionStateEnum": "apis.models.ApiVersion.State",
        "GatewayConnectionKindEnum": "apis.models.GatewayConnection.Kind",
        "LogSourceKindEnum": "analytics.models.LogSource.Kind",
        "PlanApprovalEnum": "apis.models.Plan.Approval",
        "PlanPeriodEnum": "apis.models.Plan.Period",
        "SubscriptionStateEnum": "apis.models.Subscription.State",
        "SubscriptionGatewayStateEnum": "apis.models.Subscription.GatewayState",
        "GatewayOperationActionEnum": "apis.models.GatewayOperation.Action",
        "GatewayOperationStateEnum": "apis.models.GatewayOperation.State",
        "WebhookDeliveryStateEnum": "apis.models.WebhookDelivery.State",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "portal.api.schema.add_error_responses",
    ],
}

# --- Celery -----------------------------------------------------------------

CELERY_BROKER_URL = env.str(
    "CELERY_BROKER_URL", default=f"sqla+sqlite:///{VAR_DIR / 'celery-broker.sqlite3'}"
)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = "UTC"

# --- E-mail -----------------------------------------------------------------

_email = env.email_url("EMAIL_URL", default="consolemail://")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email.get("EMAIL_HOST", "")
EMAIL_PORT = _email.get("EMAIL_PORT") or 25
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Portico <portico@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Internationalisation ---------------------------------------------------

LANGUAGE_CODE = "en"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# --- Static files -----------------------------------------------------------

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
# Uploaded log files; workers read them, so in production a volume they share.
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(VAR_DIR / "media"))
MEDIA_URL = "/media/"

# --- Security ---------------------------------------------------------------

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
if env.bool("USE_X_FORWARDED_PROTO", default=PRODUCTION):
    # Behind a TLS-terminating proxy that sets X-Forwarded-Proto.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Logging ----------------------------------------------------------------

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_FORMAT = env.str("LOG_FORMAT", default="json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "portal.observability.RequestIdFilter"}},
    "formatters": {
        "json": {"()": "portal.observability.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id"],
            "formatter": "json" if LOG_FORMAT == "json" else "text",
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "botocore": {"level": "WARNING"},
        "urllib3": {"level": "WARNING"},
    },
}

# --- Catalogue --------------------------------------------------------------

SPEC_MAX_BYTES = env.int("SPEC_MAX_BYTES", default=5_000_000)
SPEC_MAX_DEPTH = env.int("SPEC_MAX_DEPTH", default=100)
SPEC_MAX_YAML_ALIASES = env.int("SPEC_MAX_YAML_ALIASES", default=50)
SPEC_MAX_VALUES = env.int("SPEC_MAX_VALUES", default=1_000_000)
SPEC_FETCH_TIMEOUT = env.float("SPEC_FETCH_TIMEOUT", default=10.0)
SPEC_FETCH_ALLOW_PRIVATE = env.bool("SPEC_FETCH_ALLOW_PRIVATE", default=False)
# A spec pasted into the upload form arrives as a form field, not as a file: form
# bodies may be as large as a spec plus the other fields, or a 3 MB paste is a bare 400.
DATA_UPLOAD_MAX_MEMORY_SIZE = max(DATA_UPLOAD_MAX_MEMORY_SIZE, SPEC_MAX_BYTES + 512 * 1024)

# --- Gateways ---------------------------------------------------------------

GATEWAY_MAX_ATTEMPTS = env.int("GATEWAY_MAX_ATTEMPTS", default=5)
GATEWAY_TIMEOUT = env.float("GATEWAY_TIMEOUT", default=20.0)
GATEWAY_RETRY_BASE_DELAY = env.float("GATEWAY_RETRY_BASE_DELAY", default=0.5)
GATEWAY_SYNC_STALE_MINUTES = env.int("GATEWAY_SYNC_STALE_MINUTES", default=30)
# Gateways (and the OpenAPI documents they serve) usually live on private networks, unlike
# specs fetched for users; link-local and metadata addresses stay refused either way.
GATEWAY_ALLOW_PRIVATE_NETWORKS = env.bool("GATEWAY_ALLOW_PRIVATE_NETWORKS", default=True)

# --- Subscriptions ----------------------------------------------------------

SUBSCRIPTION_PENDING_LIMIT = env.int("SUBSCRIPTION_PENDING_LIMIT", default=25)
SUBSCRIPTION_KEY_LIFETIME_DAYS = env.int("SUBSCRIPTION_KEY_LIFETIME_DAYS", default=365)
SUBSCRIPTION_KEY_EXPIRY_NOTICE_DAYS = env.int("SUBSCRIPTION_KEY_EXPIRY_NOTICE_DAYS", default=14)
PROVISION_MAX_ATTEMPTS = env.int("PROVISION_MAX_ATTEMPTS", default=8)
PROVISION_RETRY_BASE_DELAY = env.float("PROVISION_RETRY_BASE_DELAY", default=2.0)
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=8)
WEBHOOK_TIMEOUT = env.float("WEBHOOK_TIMEOUT", default=10.0)
WEBHOOK_ALLOW_PRIVATE = env.bool("WEBHOOK_ALLOW_PRIVATE", default=False)

# --- Analytics --------------------------------------------------------------

ANALYTICS_PAGE_LINES = env.int("ANALYTICS_PAGE_LINES", default=20_000)
ANALYTICS_IMPORT_STALE_MINUTES = env.int("ANALYTICS_IMPORT_STALE_MINUTES", default=30)
ANALYTICS_UPLOAD_MAX_BYTES = env.int("ANALYTICS_UPLOAD_MAX_BYTES", default=2_000_000_000)
ANALYTICS_PUSH_MAX_BYTES = env.int("ANALYTICS_PUSH_MAX_BYTES", default=10_000_000)
# Older events are refused: past every retention, and each month costs a partition.
ANALYTICS_MAX_EVENT_AGE_DAYS = env.int("ANALYTICS_MAX_EVENT_AGE_DAYS", default=400)
# The most a push body may grow to once its gzip and base64 are undone (gzip bombs).
ANALYTICS_PUSH_MAX_DECODED_BYTES = env.int("ANALYTICS_PUSH_MAX_DECODED_BYTES", default=100_000_000)
# "Who still calls" on a deprecated version's page looks back this many days.
USAGE_WHO_STILL_CALLS_DAYS = env.int("USAGE_WHO_STILL_CALLS_DAYS", default=30)
# An import task works this long, then queues its own continuation (the Celery time
# limits would otherwise cut a large upload or backfill short).
ANALYTICS_TASK_BUDGET_SECONDS = env.float("ANALYTICS_TASK_BUDGET_SECONDS", default=240.0)
CLOUDWATCH_CALLS_PER_SECOND = env.int("CLOUDWATCH_CALLS_PER_SECOND", default=5)
CLOUDWATCH_PAGE_LIMIT = env.int("CLOUDWATCH_PAGE_LIMIT", default=10_000)
# Each run re-reads this much before the newest event it saw: late events are caught,
# the duplicates dropped by their keys.
CLOUDWATCH_OVERLAP_SECONDS = env.int("CLOUDWATCH_OVERLAP_SECONDS", default=300)
CLOUDWATCH_FIRST_WINDOW_MINUTES = env.int("CLOUDWATCH_FIRST_WINDOW_MINUTES", default=60)
