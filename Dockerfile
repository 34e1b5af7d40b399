# Router Playground on CPU with the embedded model (issue 8 adds the TGI compose file, health check, volume).
FROM python:3.11-slim
WORKDIR /app
COPY requirements.txt scripts/setup.sh ./scripts/
COPY . .
RUN bash scripts/setup.sh
ENV ROUTER_HOST=0.0.0.0 ROUTER_DATA_DIR=/data
EXPOSE 7860
CMD ["python", "app.py"]
