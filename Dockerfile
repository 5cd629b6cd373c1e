# ae-lab as a container, following Streamlit's deployment guide: slim Python, CPU-only torch, a non-root user.
#   docker build -t ae-lab .  &&  docker run -p 8501:8501 ae-lab
FROM python:3.11-slim

# curl for the health check; a small CJK font so the downloaded output row can label its images in Chinese.
RUN apt-get update && apt-get install -y --no-install-recommends curl fonts-wqy-microhei \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 1000 aelab
WORKDIR /home/aelab/app

# CPU-only torch first (the default wheels pull in several GB of CUDA), at the versions requirements.txt pins;
# then the rest of requirements.txt.
COPY requirements.txt ./
RUN pip install --no-cache-dir --index-url https://download.pytorch.org/whl/cpu torch==2.14.1 torchvision==0.29.1 \
    && pip install --no-cache-dir -r requirements.txt

COPY --chown=aelab:aelab . .
USER aelab

# Without MNIST the app serves its bundled sample; mount the dataset at /data to use the full test set.
# Classroom mode is on: a container serves others, so the weights everyone sees are read-only until the operator
# gives a teacher credential (AE_LAB_TEACHER_KEY of 16+ characters, or AE_LAB_TEACHER_KEY_FILE for a secret file).
ENV MNIST_DIR=/data \
    AE_LAB_OFFLINE=1 \
    AE_LAB_THREADS=1 \
    AE_LAB_CLASSROOM=1

EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
    CMD curl --fail http://localhost:8501/_stcore/health || exit 1
# `streamlit run app.py` with the caches warming from the start (ui/serve.py).
ENTRYPOINT ["python", "-m", "ui.serve", "--server.port=8501", "--server.address=0.0.0.0"]
