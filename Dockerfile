# syntax=docker/dockerfile:1
# One image for the bot and the workers; the command picks the role (see docker-compose.yml).

# Build stage: install the package and its dependencies into a venv. The source tree, pip's
# cache and setuptools stay here; only the venv is copied into the runtime image.
FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/venv
WORKDIR /src
COPY . .
# A regular (not editable) install without the dev extras: the image needs no source tree.
# The sandbox extra (moto, the emulated EC2 API) serves compose's offline demo profile.
RUN /opt/venv/bin/pip install '.[sandbox]'

FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
COPY --from=build /opt/venv /opt/venv
# A fixed, unprivileged uid so volume permissions are predictable across rebuilds.
RUN groupadd --system --gid 10001 chatops \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin chatops
USER 10001:10001
# Settings reads the environment (compose passes it), and ./.env if one is mounted here.
WORKDIR /app
EXPOSE 3000
# slim has no curl: ask the bot's health endpoint with the stdlib (a non-2xx raises → exit 1).
# Workers serve no HTTP, so compose disables this check for them.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:3000/healthz', timeout=4)"]
CMD ["chatops", "bot"]
