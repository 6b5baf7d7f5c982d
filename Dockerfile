# The worker image, in two stages: the first installs newsworker with scripts/install.sh
# --image (a regular, non-editable install of the runtime dependencies: no embedded Redis, no
# test tools, no pip cache); the second is a fresh slim Python with only that virtualenv.
FROM python:3.11-slim AS build

ENV NEWSWORKER_VENV=/opt/venv \
    PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY scripts ./scripts
COPY config ./config
COPY worker ./worker
RUN bash scripts/install.sh --image

FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH
COPY --from=build /opt/venv /opt/venv
RUN useradd --create-home --uid 1000 newsworker
USER newsworker
WORKDIR /home/newsworker

# The same image runs the worker (default), Flower (`newsworker flower`) or a producer.
CMD ["newsworker", "worker"]
