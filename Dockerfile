# Basic image: `docker build -t langsmith-key-rotator .` then `docker run --rm -e LANGSMITH_API_KEY ... langsmith-key-rotator check`.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY rotator ./rotator
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
# Unprivileged, no shell needed at run time; logs are JSON on stderr when not on a terminal.
USER 65532:65532
ENTRYPOINT ["rotator"]
CMD ["check"]
