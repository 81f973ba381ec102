# syntax=docker/dockerfile:1
# cdportal: multi-stage build; the runtime image holds the virtualenv, the code and the
# collected static files, and runs daphne as an unprivileged user.

FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 \
    UV_PYTHON_DOWNLOADS=never UV_PROJECT_ENVIRONMENT=/opt/venv UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy
WORKDIR /src
# uv at the pinned version and hashes, then exactly the locked runtime dependencies (no dev
# group) into /opt/venv; the code itself runs from /app (templates and static sit beside it).
COPY requirements-uv.txt ./
RUN pip install --require-hashes --no-deps -r requirements-uv.txt
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-cache --python /usr/local/bin/python3
ENV PATH=/opt/venv/bin:$PATH
COPY cdportal ./cdportal
COPY manage.py ./
COPY templates ./templates
COPY static ./static
# collectstatic needs settings to load: a throwaway key, only for this step.
RUN SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput -v0

FROM python:3.11-slim AS runtime
ENV PATH=/opt/venv/bin:$PATH PYTHONPATH=/app PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PORT=8000
RUN groupadd --system cdportal && useradd --system --gid cdportal --home-dir /app --shell /usr/sbin/nologin cdportal
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
RUN chown cdportal:cdportal /app
COPY --from=build --chown=cdportal:cdportal /src/manage.py ./
COPY --from=build --chown=cdportal:cdportal /src/cdportal ./cdportal
COPY --from=build --chown=cdportal:cdportal /src/templates ./templates
COPY --from=build --chown=cdportal:cdportal /src/static ./static
COPY --from=build --chown=cdportal:cdportal /src/staticfiles ./staticfiles
USER cdportal
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s \
  CMD python -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"PORT\", \"8000\")}/healthz', timeout=2)"
# Migrations run as a separate step (a Kubernetes Job or init container):
#   docker run --rm -e DATABASE_URL=… -e SECRET_KEY=… IMAGE python manage.py migrate
# No --proxy-headers: daphne would believe any client's X-Forwarded-For. cdportal/edge.py believes
# it only from TRUSTED_PROXIES.
CMD ["sh", "-c", "exec daphne -b 0.0.0.0 -p \"$PORT\" cdportal.asgi:application"]
