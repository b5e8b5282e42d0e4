"""Settings shared by every deployment. Everything variable comes from the environment (see docs/configuration.md)."""

from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.utils.translation import gettext_lazy as _

from . import env

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env.get("PREAU_DATA_DIR", str(Path.cwd() / "var")))

SECRET_KEY = env.get("SECRET_KEY", "")
# Former keys, comma-separated, kept valid during a key rotation (sessions, reset links, activation codes, TOTP).
SECRET_KEY_FALLBACKS = env.listing("SECRET_KEY_FALLBACKS")
DEBUG = env.flag("DEBUG")
ALLOWED_HOSTS = env.listing("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env.listing("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "preau.core",
    "preau.audit",
    "preau.accounts",
    "preau.directory",
    "preau.access",
    "preau.api",
    "preau.imports",
    "preau.realtime",
    "preau.messaging",
    "preau.notifications",
    "preau.news",
    "preau.timetable",
    "preau.attendance",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "preau.core.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "preau.accounts.middleware.AccountStateMiddleware",
    "preau.core.middleware.ContextMiddleware",
    "preau.core.middleware.RejectNulMiddleware",
]

ROOT_URLCONF = "preau.urls"
WSGI_APPLICATION = "preau.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "core:home"
LOGOUT_REDIRECT_URL = "accounts:login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "preau.core.context_processors.shell",
            ],
        },
    },
]

# Database: DATABASE_URL (postgres://user:pass@host:5432/name) or the embedded SQLite file.
DATABASES = {
    "default": dj_database_url.parse(
        env.get("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'preau.sqlite3'}",
        conn_max_age=env.integer("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {"init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                                       "transaction_mode": "IMMEDIATE", "timeout": 20}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Cache: REDIS_URL, or an in-process cache.
REDIS_URL = env.get("REDIS_URL")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL,
                          "KEY_PREFIX": env.get("CACHE_KEY_PREFIX", "preau")}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "preau"}}

SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SESSION_COOKIE_AGE = env.integer("SESSION_COOKIE_AGE", 60 * 60 * 24 * 14)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

PASSWORD_HASHERS = [
    "preau.accounts.hashers.PreauArgon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
# Argon2id parameters (OWASP: m=19 MiB, t=2, p=1); see accounts/hashers.py.
PREAU_ARGON2_TIME_COST = env.integer("PREAU_ARGON2_TIME_COST", 2)
PREAU_ARGON2_MEMORY_KIB = env.integer("PREAU_ARGON2_MEMORY_KIB", 19456)
PREAU_ARGON2_PARALLELISM = env.integer("PREAU_ARGON2_PARALLELISM", 1)
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", _("Français")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env.get("STATIC_ROOT", str(DATA_DIR / "static")))
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env.get("MEDIA_ROOT", str(DATA_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
if env.get("S3_BUCKET"):
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {"bucket_name": env.get("S3_BUCKET"), "endpoint_url": env.get("S3_ENDPOINT_URL"),
                    "access_key": env.get("S3_ACCESS_KEY_ID"), "secret_key": env.get("S3_SECRET_ACCESS_KEY"),
                    "region_name": env.get("S3_REGION"), "file_overwrite": False,
                    "default_acl": None, "querystring_auth": True},
    }

# Email: EMAIL_URL-like settings; console output by default.
EMAIL_HOST = env.get("EMAIL_HOST")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = env.integer("EMAIL_PORT", 587)
    EMAIL_HOST_USER = env.get("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = env.get("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env.flag("EMAIL_USE_TLS", True)
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = env.get("DEFAULT_FROM_EMAIL", "Préau <ne-pas-repondre@preau.localhost>")

# Background tasks: Celery on CELERY_BROKER_URL (or REDIS_URL) in production, run eagerly in-process otherwise.
CELERY_BROKER_URL = env.get("CELERY_BROKER_URL") or REDIS_URL
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL or env.flag("CELERY_TASK_ALWAYS_EAGER")
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Queues: "celery", the default (message deliveries and other short tasks); "notifications" (the fan-out of
# notifications and their emails: a burst of them must not hold up the next message's delivery); "imports"
# (directory imports, minutes long). Workers consume the queues named by -Q: every queue needs at least one worker
# (README, "Running in production").
CELERY_TASK_ROUTES = {
    "notifications.*": {"queue": "notifications"},
    "imports.run_import": {"queue": "imports"},
    "preau.imports.inbox.import_inbox_task": {"queue": "imports"},
    "attendance.export": {"queue": "imports"},  # bulk files, minutes long at worst: beside the imports
}

X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

# Préau's own settings.
PREAU_SITE_NAME = env.get("PREAU_SITE_NAME", "Préau")
PREAU_LOGIN_MAX_FAILURES_PER_ACCOUNT = env.integer("PREAU_LOGIN_MAX_FAILURES_PER_ACCOUNT", 5)
PREAU_LOGIN_MAX_FAILURES_PER_IP = env.integer("PREAU_LOGIN_MAX_FAILURES_PER_IP", 50)
# Number of reverse proxies in front of Préau that append to X-Forwarded-For (0: use the socket's address).
PREAU_TRUSTED_PROXIES = env.integer("PREAU_TRUSTED_PROXIES", 0)
# API rate limits ("N/min", "N/h"; empty disables): per person, and failed bearer tokens per client address.
PREAU_API_RATE = env.get("PREAU_API_RATE", "1200/min")
PREAU_API_BAD_TOKEN_RATE = env.get("PREAU_API_BAD_TOKEN_RATE", "30/min")
PREAU_ACTIVATION_CODE_DAYS = env.integer("PREAU_ACTIVATION_CODE_DAYS", 120)
# The address printed on activation sheets (people type it by hand).
PREAU_SITE_URL = env.get("PREAU_SITE_URL", "http://127.0.0.1:8000")
# Directory imports (docs/imports.md): most bytes one import may upload; hours a dry run's files wait for
# confirmation; hours without a sign of life after which a queued or running import counts as interrupted.
PREAU_IMPORT_MAX_BYTES = env.integer("PREAU_IMPORT_MAX_BYTES", 200 * 1024 * 1024)
PREAU_IMPORT_DRY_RUN_KEEP_HOURS = env.integer("PREAU_IMPORT_DRY_RUN_KEEP_HOURS", 24)
PREAU_IMPORT_STALE_HOURS = env.integer("PREAU_IMPORT_STALE_HOURS", 6)
# Days a finished import's report (its rejections name people) is kept.
PREAU_IMPORT_RUN_KEEP_DAYS = env.integer("PREAU_IMPORT_RUN_KEEP_DAYS", 400)
# Days a membership a full import no longer lists stays "leaving" before it is deactivated.
PREAU_IMPORT_LEAVING_GRACE_DAYS = env.integer("PREAU_IMPORT_LEAVING_GRACE_DAYS", 30)
# The nightly feed (src/preau/imports/inbox.py): the folder national exports are dropped in (empty: no feed), the
# hour of the nightly pass, seconds a file must stay unchanged before it is taken, days imported files are kept.
PREAU_IMPORT_INBOX = env.get("PREAU_IMPORT_INBOX", "")
PREAU_IMPORT_INBOX_HOUR = env.integer("PREAU_IMPORT_INBOX_HOUR", 2)
PREAU_IMPORT_INBOX_SETTLE_SECONDS = env.integer("PREAU_IMPORT_INBOX_SETTLE_SECONDS", 300)
PREAU_IMPORT_INBOX_KEEP_DAYS = env.integer("PREAU_IMPORT_INBOX_KEEP_DAYS", 7)
CELERY_IMPORTS = ("preau.imports.inbox",)
CELERY_BEAT_SCHEDULE = {
    # Interrupted imports failed, uploaded import files no run needs any more deleted (imports/services.py).
    "import-cleanup": {"task": "imports.cleanup", "schedule": crontab(minute=17)},
    **({"import-inbox": {"task": "preau.imports.inbox.import_inbox_task",
                         "schedule": crontab(hour=PREAU_IMPORT_INBOX_HOUR, minute=0)}} if PREAU_IMPORT_INBOX else {}),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.get("LOG_LEVEL", "WARNING")},
}

# Notification centre (docs/notifications.md): recipients per delivery task, the hour of the daily digest email
# (server time zone), days read notifications are kept (unread ones: a year), and the beat entries.
PREAU_NOTIFICATION_CHUNK = env.integer("PREAU_NOTIFICATION_CHUNK", 1000)
PREAU_NOTIFICATION_DIGEST_HOUR = env.integer("PREAU_NOTIFICATION_DIGEST_HOUR", 18)
PREAU_NOTIFICATION_KEEP_DAYS = env.integer("PREAU_NOTIFICATION_KEEP_DAYS", 120)
PREAU_NOTIFICATION_UNREAD_KEEP_DAYS = env.integer("PREAU_NOTIFICATION_UNREAD_KEEP_DAYS", 365)
CELERY_BEAT_SCHEDULE.update({
    # Immediate emails deferred by quiet hours, sent when their time comes (and any enqueue lost on the way).
    "notifications-due-emails": {"task": "notifications.send_due_emails", "schedule": crontab(minute="*/5")},
    "notifications-digest": {"task": "notifications.send_digests",
                             "schedule": crontab(hour=PREAU_NOTIFICATION_DIGEST_HOUR, minute=0)},
    "notifications-purge": {"task": "notifications.purge", "schedule": crontab(hour=3, minute=41)},
})

# Real-time updates of open pages (docs/realtime.md): on/off, the Redis server carrying them between server processes
# (default REDIS_URL; none: in-process, for one server process), the channels' prefix, a stream's longest life before
# the browser reconnects, the heartbeat interval, the reconnection delay hinted to browsers, and open streams per
# person per server process (one more ends the oldest).
PREAU_REALTIME_ENABLED = env.flag("PREAU_REALTIME_ENABLED", True)
PREAU_REALTIME_REDIS_URL = env.get("PREAU_REALTIME_REDIS_URL") or REDIS_URL
PREAU_REALTIME_CHANNEL_PREFIX = env.get("CACHE_KEY_PREFIX", "preau")
PREAU_REALTIME_MAX_SECONDS = env.integer("PREAU_REALTIME_MAX_SECONDS", 300)
PREAU_REALTIME_HEARTBEAT_SECONDS = env.integer("PREAU_REALTIME_HEARTBEAT_SECONDS", 20)
PREAU_REALTIME_RETRY_MS = env.integer("PREAU_REALTIME_RETRY_MS", 3000)
PREAU_REALTIME_MAX_STREAMS_PER_USER = env.integer("PREAU_REALTIME_MAX_STREAMS_PER_USER", 8)

# Messaging abuse resistance and moderation (docs/messaging-safety.md): days a staff sender may recall a message;
# days of a person's sends that make their usual size; a send is unusual (held) when it has more recipients than
# PREAU_MESSAGING_UNUSUAL_MIN_RECIPIENTS and than PREAU_MESSAGING_UNUSUAL_FACTOR times their largest usual send;
# hours after a login from a device before it counts as known (the sending session's own login does not); days of
# sends and logins remembered to recognise a device.
PREAU_MESSAGING_RECALL_DAYS = env.integer("PREAU_MESSAGING_RECALL_DAYS", 7)
PREAU_MESSAGING_HISTORY_DAYS = env.integer("PREAU_MESSAGING_HISTORY_DAYS", 90)
PREAU_MESSAGING_UNUSUAL_MIN_RECIPIENTS = env.integer("PREAU_MESSAGING_UNUSUAL_MIN_RECIPIENTS", 20)
PREAU_MESSAGING_UNUSUAL_FACTOR = env.integer("PREAU_MESSAGING_UNUSUAL_FACTOR", 3)
PREAU_MESSAGING_DEVICE_TRUST_HOURS = env.integer("PREAU_MESSAGING_DEVICE_TRUST_HOURS", 24)
PREAU_MESSAGING_DEVICE_MEMORY_DAYS = env.integer("PREAU_MESSAGING_DEVICE_MEMORY_DAYS", 365)

# News and carnet de liaison (docs/news.md): the largest image a news item may carry, images per item, days after
# which families who have not signed a note get one automatic reminder (0: none), minutes between two reminders
# of one note sent by hand.
PREAU_NEWS_IMAGE_MAX_BYTES = env.integer("PREAU_NEWS_IMAGE_MAX_BYTES", 5 * 1024 * 1024)
PREAU_NEWS_MAX_IMAGES = env.integer("PREAU_NEWS_MAX_IMAGES", 10)
PREAU_LIAISON_REMINDER_DAYS = env.integer("PREAU_LIAISON_REMINDER_DAYS", 3)
PREAU_LIAISON_REMIND_INTERVAL_MINUTES = env.integer("PREAU_LIAISON_REMIND_INTERVAL_MINUTES", 60)
CELERY_BEAT_SCHEDULE.update({
    # Scheduled news whose window has opened: their audience is notified (news/tasks.py).
    "news-publish-due": {"task": "news.notify_due", "schedule": crontab(minute="*")},
    # Notes of the carnet de liaison still unsigned PREAU_LIAISON_REMINDER_DAYS after sending: one reminder.
    "liaison-remind-due": {"task": "news.liaison_remind_due", "schedule": crontab(minute=23)},
})

# Messaging (docs/messaging.md): attachments (largest file, files per message, accepted extensions — each also
# checked by content), copies written per chunk by the delivery task, and seconds after which a message still queued
# is delivered again by the sweeper (celery beat, every minute).
PREAU_MESSAGING_MAX_ATTACHMENT_BYTES = env.integer("PREAU_MESSAGING_MAX_ATTACHMENT_BYTES", 10 * 1024 * 1024)
PREAU_MESSAGING_MAX_ATTACHMENTS = env.integer("PREAU_MESSAGING_MAX_ATTACHMENTS", 10)
PREAU_MESSAGING_ATTACHMENT_TYPES = [ext.lower().lstrip(".") for ext in env.listing(
    "PREAU_MESSAGING_ATTACHMENT_TYPES", "pdf,png,jpg,jpeg,gif,webp,txt,csv,odt,ods,odp,docx,xlsx,pptx,mp3,m4a")]
PREAU_MESSAGING_DELIVERY_CHUNK = env.integer("PREAU_MESSAGING_DELIVERY_CHUNK", 5000)
PREAU_MESSAGING_SWEEP_AFTER_SECONDS = env.integer("PREAU_MESSAGING_SWEEP_AFTER_SECONDS", 60)
CELERY_BEAT_SCHEDULE.update({
    # Messages still queued after PREAU_MESSAGING_SWEEP_AFTER_SECONDS: delivery enqueued again (messaging/tasks.py).
    "messaging-sweep": {"task": "messaging.sweep_undelivered", "schedule": crontab(minute="*")},
})

# Timetable (docs/timetable.md): a change to a course occurrence (cancelled, moved, replaced) is notified to the
# pupils, their guardians and the teachers only when the occurrence (old or new day) is within this many days.
TIMETABLE_NOTIFY_DAYS = env.integer("TIMETABLE_NOTIFY_DAYS", 7)

# Agenda and calendar feed (docs/agenda.md): fetches of one feed URL allowed per window ("N/min", "N/h"; empty: no
# limit); calendar clients poll every few minutes to a few hours.
PREAU_CALENDAR_FEED_RATE = env.get("PREAU_CALENDAR_FEED_RATE", "60/h")

# Attendance (docs/attendance.md): days an establishment-wide CSV export stays downloadable, and the beat entry that
# deletes older ones.
PREAU_ATTENDANCE_EXPORT_KEEP_DAYS = env.integer("PREAU_ATTENDANCE_EXPORT_KEEP_DAYS", 7)
CELERY_BEAT_SCHEDULE["attendance-exports-purge"] = {"task": "attendance.purge_exports",
                                                    "schedule": crontab(hour=3, minute=53)}
