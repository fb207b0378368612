# The indexer daemon; Elasticsearch and Kibana come from Elastic's images (docker-compose.yml).
FROM python:3.11-slim-bookworm

RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      tesseract-ocr tesseract-ocr-eng poppler-utils \
      fonts-dejavu-core fonts-liberation \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY indexer ./indexer
COPY mappings ./mappings
COPY models ./models
RUN pip install --no-cache-dir -e .

RUN useradd --system --create-home indexer && mkdir -p /inbox /var/lib/contract-indexer \
 && chown indexer /inbox /var/lib/contract-indexer
USER indexer
ENV INDEXER_STATE_DIR=/var/lib/contract-indexer
ENTRYPOINT []
CMD ["indexer", "-v", "watch", "/inbox", "--polling"]
