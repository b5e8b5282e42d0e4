"""The production settings pass Django's deployment checks with no warning, configured from the environment."""

import os
import subprocess
import sys


def run_preau(*args, **env):
    full_env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    full_env.update(env)
    return subprocess.run([sys.executable, "-m", "preau", *args], capture_output=True, text=True, env=full_env,
                          timeout=120)


def test_production_settings_pass_check_deploy(tmp_path):
    result = run_preau(
        "check", "--deploy", "--fail-level", "WARNING",
        DJANGO_SETTINGS_MODULE="preau.settings.production",
        SECRET_KEY="x" * 20 + "a-long-random-production-secret-key-0123456789",
        ALLOWED_HOSTS="ent.example.fr",
        PREAU_DATA_DIR=str(tmp_path),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_settings_refuse_to_start_without_secret_key(tmp_path):
    result = run_preau("check", DJANGO_SETTINGS_MODULE="preau.settings.production", SECRET_KEY="",
                       ALLOWED_HOSTS="ent.example.fr", PREAU_DATA_DIR=str(tmp_path))
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_database_and_cache_follow_the_environment(tmp_path):
    code = ("from django.conf import settings as s; import django; django.setup(); "
            "print(s.DATABASES['default']['ENGINE']); print(s.CACHES['default']['BACKEND']); "
            "print(s.CELERY_TASK_ALWAYS_EAGER)")
    base = {"DJANGO_SETTINGS_MODULE": "preau.settings.dev", "PREAU_DATA_DIR": str(tmp_path)}
    embedded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                              env={**{k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}},
                                   **base})
    assert embedded.stdout.split() == ["django.db.backends.sqlite3",
                                       "django.core.cache.backends.locmem.LocMemCache", "True"], embedded.stderr
    configured = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
        env={**os.environ, **base, "DATABASE_URL": "postgres://u:p@db.example:5432/preau",
             "REDIS_URL": "redis://cache.example:6379/0"})
    assert configured.stdout.split() == ["django.db.backends.postgresql",
                                         "django.core.cache.backends.redis.RedisCache", "False"], configured.stderr


def test_file_storage_follows_the_environment(tmp_path):
    code = ("import django; django.setup(); from django.core.files.storage import storages; d = storages[\"default\"]; "
            "print(type(d).__name__, getattr(d, 'bucket_name', ''))")
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(DJANGO_SETTINGS_MODULE="preau.settings.dev", PREAU_DATA_DIR=str(tmp_path))
    local = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env)
    assert local.stdout.split() == ["FileSystemStorage"], local.stderr
    env.update(S3_BUCKET="preau-files", S3_ENDPOINT_URL="http://127.0.0.1:9", S3_ACCESS_KEY_ID="k",
               S3_SECRET_ACCESS_KEY="s")
    s3 = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env)
    assert s3.stdout.split() == ["S3Storage", "preau-files"], s3.stderr
