# The worker image. It installs with scripts/install.sh, exactly as the README's install does.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    NEWSWORKER_VENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

WORKDIR /app
COPY pyproject.toml README.md ./
COPY scripts ./scripts
COPY config ./config
COPY worker ./worker
RUN bash scripts/install.sh \
    && useradd --create-home --uid 1000 newsworker
USER newsworker

# The same image runs the worker (default), Flower (`newsworker flower`) or a producer.
CMD ["newsworker", "worker"]
