# Tandem sync service image (used by docker-compose.yml for tandem and tandem-migrate).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Only what the service needs (no .venv, .git or test data in the image).
COPY pyproject.toml README.md* ./
COPY domain ./domain
COPY application ./application
COPY adapters ./adapters
COPY entrypoints ./entrypoints
COPY demo ./demo
COPY devstack ./devstack
# The SQL migrations are found from the working directory (/app/infra/sql).
COPY infra ./infra

RUN pip install . \
    && useradd --system --uid 10001 --home-dir /app tandem

USER tandem

# Health and metrics (SYNC_HTTP_PORT).
EXPOSE 9187

CMD ["python", "-m", "entrypoints.consumer", "--direction", "both"]
