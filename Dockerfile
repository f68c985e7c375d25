# One image for every service and the gateway:
#   docker build -t erp-backoffice .
#   python -m services.runtime.serve <service>   |   python -m gateway   |   python -m services.ops.cli <command>
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY generated ./generated
COPY services ./services
COPY gateway ./gateway
RUN pip install . \
    && useradd --system --uid 10001 --home-dir /app erp \
    && mkdir -p /data && chown erp /data

USER erp
ENV ERP_DATA_DIR=/data \
    ERP_GRPC_BIND_HOST=0.0.0.0 \
    ERP_METRICS_HOST=0.0.0.0 \
    ERP_GATEWAY_HOST=0.0.0.0
EXPOSE 8000 50051-50058 9100-9107
CMD ["python", "-m", "gateway"]
