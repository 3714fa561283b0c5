# Slim, non-root Deskhand image; mirrors the README's install step.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    DESKHAND_HOME=/data

RUN useradd --create-home --uid 10001 deskhand && mkdir /data && chown deskhand /data
WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY graph ./graph
COPY memory ./memory
COPY adapters ./adapters
COPY migrations ./migrations
RUN pip install .

USER deskhand
VOLUME ["/data"]
HEALTHCHECK --interval=30s --timeout=10s --start-period=20s --retries=3 \
    CMD ["deskhand", "doctor"]
CMD ["deskhand", "run"]
