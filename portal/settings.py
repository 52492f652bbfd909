"""Settings, read from environment variables (documented in README.md).

Without DATABASE_URL and REDIS_URL the portal runs on the embedded default: SQLite and Celery
tasks executed in-process. With DEBUG off it refuses to start without real secrets.
"""

import base64
import binascii
import json
import secrets
import sys
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from portal.env import env_bool, env_dates, env_float, env_int, env_list, env_str
from recognition.reporting import filing

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("PORTAL_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)
DATABASE_URL = env_str("DATABASE_URL")
REDIS_URL = env_str("REDIS_URL")


def _dev_secrets() -> dict:
    """Secrets for a DEBUG run without configured ones, kept in var/ so restarts keep data."""
    path = VAR_DIR / "dev-secrets.json"
    if path.exists():
        return json.loads(path.read_text())
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    values = {
        "SECRET_KEY": "django-insecure-" + secrets.token_urlsafe(40),
        "FACE_ENCRYPTION_KEYS": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
    }
    path.write_text(json.dumps(values))
    path.chmod(0o600)
    return values


def _valid_fernet_key(key: str) -> bool:
    try:
        return len(base64.urlsafe_b64decode(key.encode())) == 32
    except (binascii.Error, ValueError):
        return False


SECRET_KEY = env_str("SECRET_KEY")
FACE_ENCRYPTION_KEYS = env_list("FACE_ENCRYPTION_KEYS", [])
# Per-person data keys in a PostgreSQL database of their own, kept out of the portal's
# backups, so that a deleted person's templates cannot be read from a backup either.
FACE_KEY_DATABASE_URL = env_str("FACE_KEY_DATABASE_URL")
if DEBUG and (not SECRET_KEY or not FACE_ENCRYPTION_KEYS):
    _dev = _dev_secrets()
    SECRET_KEY = SECRET_KEY or _dev["SECRET_KEY"]
    FACE_ENCRYPTION_KEYS = FACE_ENCRYPTION_KEYS or [_dev["FACE_ENCRYPTION_KEYS"]]
# The operator's face benchmark reads photos and runs the model, and preparing the model copies
# its weights, nothing else: no request is signed and nothing stored is decrypted, so both run
# on throwaway secrets when none are set (a machine or an image made ready before its secrets).
_OFFLINE_COMMANDS = {"face_benchmark", "prepare_face_model"}
if Path(sys.argv[0]).name == "manage.py" and sys.argv[1:2] and sys.argv[1] in _OFFLINE_COMMANDS:
    SECRET_KEY = SECRET_KEY or secrets.token_urlsafe(64)
    FACE_ENCRYPTION_KEYS = FACE_ENCRYPTION_KEYS or [
        base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    ]
if not DEBUG:
    if len(SECRET_KEY) < 50 or SECRET_KEY.startswith("django-insecure"):
        raise ImproperlyConfigured(
            "SECRET_KEY must be set to a random value of at least 50 characters when DEBUG is off"
        )
    if not FACE_ENCRYPTION_KEYS:
        raise ImproperlyConfigured("FACE_ENCRYPTION_KEYS must be set when DEBUG is off")
for _key in FACE_ENCRYPTION_KEYS:
    if not _valid_fernet_key(_key):
        raise ImproperlyConfigured(
            "FACE_ENCRYPTION_KEYS must hold url-safe base64 Fernet keys (32 bytes each), "
            "newest first, separated by commas"
        )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "modeltranslation",  # before the admin, so its admin knows the translated fields
    "portal.admin_site.PortalAdminConfig",  # Django's admin behind the portal's sign-in
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_otp_webauthn",
    "portal",
    "consent",
    "recognition",
    "recognition.rights",
    "recognition.entry",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "portal.metrics.RequestMetricsMiddleware",
    "portal.middleware.ContentSecurityPolicyMiddleware",
    "portal.middleware.RequestBodyLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "portal.middleware.ApiGuardMiddleware",
    "portal.middleware.RequireSecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"
AUTH_USER_MODEL = "portal.User"
LOGIN_URL = "portal:login"
LOGIN_REDIRECT_URL = "portal:home"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context.roles",
            ],
        },
    },
]

if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "portal.sqlite3",
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
# The project's own catalogue first: `makemessages` writes there, and it wins on a clash. The
# second holds Chinese for the strings django-otp-webauthn shows, which ships none.
LOCALE_PATHS = [BASE_DIR / "locale", BASE_DIR / "locale" / "django_otp_webauthn"]
TIME_ZONE = env_str("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True
FORMAT_MODULE_PATH = ["portal.formats"]

# Names that admins type (buildings, handlers, purposes, locations, devices) have an English
# and a Simplified Chinese value; pages show the reader's. A missing one falls back to the
# other language and is marked on the page (see portal.translation).
MODELTRANSLATION_DEFAULT_LANGUAGE = "en"
MODELTRANSLATION_LANGUAGES = ("en", "zh-hans")
MODELTRANSLATION_FALLBACK_LANGUAGES = {"default": ("en", "zh-hans")}

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
# The production shape serves static files itself (WhiteNoise): compressed copies and hashed
# names cached for a year, after `collectstatic`. DEBUG keeps plain names for development.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 3600, minimum=300)
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    if env_bool("BEHIND_TLS_PROXY", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Upload bounds: a photo is a few hundred kilobytes; anything past this is refused early.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("MAX_UPLOAD_BYTES", 8 * 1024 * 1024, minimum=1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = DATA_UPLOAD_MAX_MEMORY_SIZE
FILE_UPLOAD_HANDLERS = ["django.core.files.uploadhandler.MemoryFileUploadHandler"]

# Sign-in throttling: after SIGNIN_FREE_FAILURES failures a key is locked, doubling each time.
SIGNIN_FREE_FAILURES = env_int("SIGNIN_FREE_FAILURES", 5, minimum=1)
SIGNIN_LOCK_SECONDS = env_int("SIGNIN_LOCK_SECONDS", 60, minimum=1)
SIGNIN_LOCK_MAX_SECONDS = env_int("SIGNIN_LOCK_MAX_SECONDS", 3600, minimum=1)
# Failure scores halve every SIGNIN_DECAY_SECONDS (a sliding window, not a lifetime tally).
SIGNIN_DECAY_SECONDS = env_int("SIGNIN_DECAY_SECONDS", 900, minimum=1)
# A browser that completed password + second factor keeps a signed device cookie for this
# long; its own failures are counted apart and slow it for at most SIGNIN_TRUSTED_MAX_SECONDS.
TRUSTED_DEVICE_DAYS = env_int("TRUSTED_DEVICE_DAYS", 180, minimum=1)
SIGNIN_TRUSTED_MAX_SECONDS = env_int("SIGNIN_TRUSTED_MAX_SECONDS", 60, minimum=1)
# Proxies in front of the portal that append to X-Forwarded-For (0: use the socket address).
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0, maximum=10)
# Face sign-in only in a browser trusted for the account; true relaxes it for shared kiosks.
FACE_SIGNIN_ANY_BROWSER = env_bool("FACE_SIGNIN_ANY_BROWSER", False)
# An account enrols a second factor only this soon after re-entering its password.
SECOND_FACTOR_REAUTH_SECONDS = env_int("SECOND_FACTOR_REAUTH_SECONDS", 300, minimum=30)
# Longest wait a door keypad imposes between codes after many wrong ones (it never locks).
DOOR_KEYPAD_MAX_WAIT_SECONDS = env_int("DOOR_KEYPAD_MAX_WAIT_SECONDS", 10, minimum=1, maximum=60)
# django-otp's own per-device throttle doubles without a cap and is shared by every route
# that checks a code; the portal's own counters above replace it.
OTP_TOTP_THROTTLE_FACTOR = 0
OTP_STATIC_THROTTLE_FACTOR = 0
OTP_TOTP_ISSUER = env_str("OTP_TOTP_ISSUER", "Face consent portal")
# Passkeys (django-otp-webauthn): bound to this domain, accepted from these origins; empty
# means the host being served and its own origin.
WEBAUTHN_RP_ID = env_str("WEBAUTHN_RP_ID", "")
WEBAUTHN_ORIGINS = env_list("WEBAUTHN_ORIGINS", [])
OTP_WEBAUTHN_HELPER_CLASS = "portal.passkeys.PasskeyHelper"
OTP_WEBAUTHN_RP_ID_CALLABLE = "portal.passkeys.relying_party_id"
OTP_WEBAUTHN_RP_NAME = OTP_TOTP_ISSUER
# The page's own origin (an allowed host) is accepted too; see portal/passkeys.py.
OTP_WEBAUTHN_ALLOWED_ORIGINS = (
    WEBAUTHN_ORIGINS
    or [f"https://{host}" for host in ALLOWED_HOSTS if host not in ("*", "") and host[0] != "."]
    or ["http://localhost"]
)
OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN = True
OTP_WEBAUTHN_EXCEPTION_LOGGER_NAME = "portal.passkeys"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "django_otp_webauthn.backends.WebAuthnBackend",
]

# Celery: a real broker when REDIS_URL is set, otherwise tasks run in-process.
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or "cache+memory://"
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_RESULT_EXPIRES = timedelta(minutes=5)
CELERY_TASK_TIME_LIMIT = env_int("FACE_TASK_TIME_LIMIT", 30, minimum=5)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 2
CELERY_WORKER_MAX_MEMORY_PER_CHILD = env_int("WORKER_MAX_MEMORY_KB", 1_500_000, minimum=200_000)
# Each pool child loads the face model before it reports for work. Celery's default wait for
# that (4 s) killed slow-starting children over and over on a busy machine: after a child was
# lost or recycled the worker never came back.
CELERY_WORKER_PROC_ALIVE_TIMEOUT = 120
CELERY_TASK_DEFAULT_QUEUE = "latency"
CELERY_TASK_ROUTES = {
    "recognition.tasks.purge_*": {"queue": "maintenance"},
    "*": {"queue": "latency"},
}
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_timeout": 2, "socket_connect_timeout": 2}
CELERY_REDIS_SOCKET_TIMEOUT = 2
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = 2
# The result backend retries a lost Redis once, briefly: its default (20 tries, ~19 s) held a
# face sign-in that long before "face unavailable" when Redis was down.
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {
    "retry_policy": {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}
}
CELERY_TASK_PUBLISH_RETRY = False
PURGE_INTERVAL_MINUTES = env_int("PURGE_INTERVAL_MINUTES", 10, minimum=1)
# Tests and demos only: a purge every N seconds instead (0: use the minutes above).
PURGE_INTERVAL_SECONDS = env_int("PURGE_INTERVAL_SECONDS", 0, minimum=0)
_PURGE_EVERY = (
    timedelta(seconds=PURGE_INTERVAL_SECONDS)
    if PURGE_INTERVAL_SECONDS
    else timedelta(minutes=PURGE_INTERVAL_MINUTES)
)
# Rows per purge transaction; each batch holds the audit chain's lock (docs/benchmarks.md).
PURGE_BATCH_SIZE = env_int("PURGE_BATCH_SIZE", 5_000, minimum=1)
# The purge is maintenance, not a face request: its own time limit, not FACE_TASK_TIME_LIMIT.
PURGE_TIME_LIMIT = env_int("PURGE_TIME_LIMIT", 3600, minimum=60)
# Signs the audit chain's checkpoints (portal/audit/checkpoints.py). Kept out of the database: in
# the environment or a secret store; without it no checkpoint is signed (DEBUG derives one).
AUDIT_CHECKPOINT_KEY = env_str("AUDIT_CHECKPOINT_KEY")
if DEBUG and not AUDIT_CHECKPOINT_KEY:
    AUDIT_CHECKPOINT_KEY = "debug-checkpoint-" + SECRET_KEY
AUDIT_CHECK_INTERVAL_HOURS = env_int("AUDIT_CHECK_INTERVAL_HOURS", 24, minimum=1)
ATTEMPT_TALLY_MINUTES = env_int("ATTEMPT_TALLY_MINUTES", 5, minimum=1)
# How often each door gallery's snapshot is brought up to date (recognition.doors.snapshots): a
# worker restarted after enrolments decrypts at most what was enrolled in that time.
DOOR_SNAPSHOT_MINUTES = env_int("DOOR_SNAPSHOT_MINUTES", 10, minimum=1)
CELERY_BEAT_SCHEDULE = {
    "purge-lapsed-biometrics": {
        "task": "recognition.tasks.purge_lapsed",
        "schedule": _PURGE_EVERY,
        # A purge nobody picked up before the next one is due is dropped, not queued up.
        "options": {"expires": _PURGE_EVERY.total_seconds()},
    },
    "tally-attempts": {
        "task": "recognition.tasks.tally_attempts",
        "schedule": timedelta(minutes=ATTEMPT_TALLY_MINUTES),
        "options": {"queue": "maintenance", "expires": ATTEMPT_TALLY_MINUTES * 60},
    },
    "compact-door-snapshots": {
        "task": "recognition.tasks.compact_door_snapshots",
        "schedule": timedelta(minutes=DOOR_SNAPSHOT_MINUTES),
        "options": {"queue": "maintenance", "expires": DOOR_SNAPSHOT_MINUTES * 60},
    },
    "check-audit-chain": {
        "task": "consent.tasks.check_audit_chain",
        "schedule": timedelta(hours=AUDIT_CHECK_INTERVAL_HOURS),
        "options": {"queue": "maintenance", "expires": AUDIT_CHECK_INTERVAL_HOURS * 3600},
    },
}

# The face engine (run only in Celery workers, or in-process in the embedded default).
DEEPFACE_HOME = Path(env_str("DEEPFACE_HOME", str(VAR_DIR / "deepface")))
FACE_MODEL = env_str("FACE_MODEL", "Dlib")
FACE_DETECTOR = env_str("FACE_DETECTOR", "dlib-hog")
# Each model's own default (recognition.engine.THRESHOLDS: Dlib 0.056, SFace 0.5).
FACE_THRESHOLD = env_float(
    "FACE_THRESHOLD", 0.5 if FACE_MODEL == "SFace" else 0.056, minimum=0.0, maximum=2.0
)
FACE_MIRROR = env_bool("FACE_MIRROR", True)
# A process per worker process reading a burst's poses beside the embedding (two cores for one
# live sign-in; about 70 MB more per worker process: the reader's 250, the worker's own 175 less).
FACE_LIVE_READER = env_bool("FACE_LIVE_READER", True)
FACE_DETECT_SIDE = env_int("FACE_DETECT_SIDE", 640, minimum=160, maximum=2048)
FACE_MAX_SIDE = env_int("FACE_MAX_SIDE", 1024, minimum=256, maximum=4096)
FACE_MAX_PIXELS = env_int("FACE_MAX_PIXELS", 40_000_000, minimum=1_000_000)
# Peak memory one photo may take to decode and convert to 8-bit RGB, checked before decoding.
FACE_MAX_DECODE_BYTES = env_int("FACE_MAX_DECODE_BYTES", 64 * 1024 * 1024, minimum=8 * 1024 * 1024)
# Face checks one anonymous client (IP address) may ask for per minute, whatever their outcome.
# Door identification (1:N): the estimated chance that one stranger opens a door in one
# attempt, which tightens the threshold as a gallery grows, and the margin by which the best
# person must beat every other (recognition.doors.operating).
FACE_IDENTIFY_MAX_FALSE_OPEN = env_float(
    "FACE_IDENTIFY_MAX_FALSE_OPEN", 0.01, minimum=0.000001, maximum=1.0
)
FACE_IDENTIFY_MARGIN = env_float("FACE_IDENTIFY_MARGIN", 0.01, minimum=0.0, maximum=1.0)
FACE_ANONYMOUS_PER_MINUTE = env_int("FACE_ANONYMOUS_PER_MINUTE", 10, minimum=1)
# Live face challenges one client (address, account or door device) may ask for per minute.
FACE_CHALLENGES_PER_MINUTE = env_int("FACE_CHALLENGES_PER_MINUTE", 10, minimum=1)
FACE_MIN_FACE_PX = env_int("FACE_MIN_FACE_PX", 64, minimum=16)
FACE_VERIFY_DEADLINE = env_float("FACE_VERIFY_DEADLINE", 10.0, minimum=0.5)
# Door codes: the non-face way through a door, shown on the person's door-code page.
DOOR_CODE_TTL_MINUTES = env_int("DOOR_CODE_TTL_MINUTES", 5, minimum=1, maximum=60)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "portal.api.exception_handler",
    "DEFAULT_PARSER_CLASSES": [
        "portal.parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"].append(
        "rest_framework.renderers.BrowsableAPIRenderer"
    )
SPECTACULAR_SETTINGS = {
    "TITLE": "Face consent portal API",
    "DESCRIPTION": "Consent to facial recognition, with a non-face alternative that always works.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "portal.api.document_errors",
    ],
    "ENUM_NAME_OVERRIDES": {
        "PurposeStatusEnum": "consent.models.Purpose.STATUS_CHOICES",
        "PurposeMethodEnum": "consent.models.Purpose.METHOD_CHOICES",
        "ConsentStatusEnum": "consent.models.Consent.STATUS_CHOICES",
        "PurposeKindEnum": "consent.models.Purpose.KIND_CHOICES",
        "PurposeAudienceEnum": "consent.models.Purpose.AUDIENCE_CHOICES",
        "PurposeStorageEnum": "consent.models.Purpose.STORAGE_CHOICES",
        "ConsentEventKindEnum": "consent.models.ConsentEvent.KIND_CHOICES",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "WARNING")},
}

# Retention of the logs around face data (the templates' own retention is per purpose).
# Attempt logs are the processing records: PIPL art. 56 keeps them at least three years.
ATTEMPT_RETENTION_DAYS = env_int("ATTEMPT_RETENTION_DAYS", 1095, minimum=1)
RENEWAL_GRACE_DAYS = env_int("RENEWAL_GRACE_DAYS", 30, minimum=0)

# Governance: impact assessment reviews and the filing duty (recognition/reporting/filing.py).
ASSESSMENT_REVIEW_DAYS = env_int("ASSESSMENT_REVIEW_DAYS", 365, minimum=1)
# The Measures' numbers (art. 15), not tunable in production; tests lower them. Their one home
# is recognition/reporting/filing.py, beside the rules that use them.
FILING_THRESHOLD = filing.FILING_THRESHOLD
FILING_WARNING_FROM = filing.FILING_WARNING_FROM
FILING_HOLIDAYS = env_dates("FILING_HOLIDAYS", [])
FILING_WORKDAYS = env_dates("FILING_WORKDAYS", [])

# Deployment: health, metrics and door shards (docs/deploy.md).
# Probes and scrapes come over the private network, not through the TLS proxy.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
# /metrics answers only to "Authorization: Bearer <METRICS_TOKEN>"; unset, it does not exist.
METRICS_TOKEN = env_str("METRICS_TOKEN")
# Where every process of this machine writes its samples (prometheus-client multiprocess mode).
METRICS_DIR = Path(env_str("PROMETHEUS_MULTIPROC_DIR", str(VAR_DIR / "metrics")))
# A worker machine without a web process serves its samples on this port (0: not at all).
WORKER_METRICS_PORT = env_int("WORKER_METRICS_PORT", 0, minimum=0, maximum=65535)
WORKER_METRICS_ADDR = env_str("WORKER_METRICS_ADDR", "127.0.0.1")
# Door galleries split across workers: a building's door work goes to queue door-K, K a stable
# hash of its id modulo DOOR_SHARDS (1: every door task on the latency queue).
DOOR_SHARDS = env_int("DOOR_SHARDS", 1, minimum=1, maximum=1024)
# Outbound mail (incident notices). The incident channel may use another backend (a dotted path
# to any Django email backend, e.g. an SMS gateway's); empty: EMAIL_BACKEND.
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1, maximum=65535)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "portal@localhost")
INCIDENT_EMAIL_BACKEND = env_str("INCIDENT_EMAIL_BACKEND")
