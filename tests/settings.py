"""Settings for the test suite: the real services, never mocks of them.

PostgreSQL and Redis on 127.0.0.1 by default; override with the usual
variables (``DATABASE_URL``, ``CACHE_URL``, ``CELERY_BROKER_URL``).
"""

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portico")
os.environ.setdefault("CACHE_URL", "redis://127.0.0.1:6379/1")
os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/2")
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "true")

from portal.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
