# The worker image. Kafka and PostgreSQL are not in it: point
# REPORTS_KAFKA_BOOTSTRAP_SERVERS and REPORTS_DATABASE_URL at yours.
FROM python:3.11-slim

RUN useradd --create-home --uid 10001 reports
WORKDIR /app
COPY pyproject.toml README.md ./
COPY service ./service
RUN pip install --no-cache-dir . && rm -rf /root/.cache

USER reports
ENV REPORTS_LOG_FORMAT=json \
    REPORTS_STORAGE_URL=file:///home/reports/reports
ENTRYPOINT ["report-worker"]
CMD ["run"]
