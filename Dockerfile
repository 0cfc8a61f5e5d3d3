# The cellprov service for a lab server; see docker-compose.yml.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY service ./service
COPY schemas ./schemas
COPY clients ./clients
COPY labrules ./labrules
COPY migrations ./migrations
RUN pip install --no-cache-dir '.[server]'
RUN useradd --create-home cellprov && mkdir -p /data && chown cellprov /data
USER cellprov
ENV CELLPROV_FILES_DIR=/data/files
EXPOSE 8000
CMD ["cellprov-server", "serve", "--host", "0.0.0.0", "--port", "8000", "--no-example"]
