# Copy to instance/config.py to override the defaults; PERMITS_* environment variables
# override this file in turn. Never commit the real config.py.

# SECRET_KEY = "at least 32 random characters"   # `make run` writes instance/secret_key instead
# DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/permits"
# TIMEZONE = "Asia/Shanghai"
# CITY_CODE = "310000"
# RATELIMIT_STORAGE_URL = "redis://127.0.0.1:6379/0"
# HTTPS = True
