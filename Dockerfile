# sqlvec server image: `docker compose up` serves PostgreSQL clients on port 5433.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY sqlvec ./sqlvec
RUN pip install --no-cache-dir . && useradd --system --home /data sqlvec \
    && mkdir -p /data && chown sqlvec /data
USER sqlvec
VOLUME ["/data"]
EXPOSE 5433
ENTRYPOINT ["sqlvec"]
CMD ["serve", "--host", "0.0.0.0", "--port", "5433", "--data", "/data"]
