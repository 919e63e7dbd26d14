# syntax=docker/dockerfile:1
# One image for every Driftwatch process: scheduler, workers, gateway and one-shot
# commands (migrate, approve, ...). The CLI runs the compiled JavaScript in each
# package's dist/, built in the image by `npm run build` (tsc -b).
FROM node:20-bookworm-slim

WORKDIR /app

# Manifests first, so that the dependency layer is rebuilt only when they
# change. Every npm workspace of package.json must be listed here.
COPY package.json package-lock.json ./
COPY packages/core/package.json packages/core/
COPY apps/scheduler/package.json apps/scheduler/
COPY apps/workers/package.json apps/workers/
COPY apps/cli/package.json apps/cli/
COPY apps/gateway/package.json apps/gateway/
COPY packages/sdk/package.json packages/sdk/
# Scripts wait for the source: `prepare` builds it, and it is not here yet.
RUN npm ci --no-audit --no-fund --ignore-scripts && npm cache clean --force

# The source stays owned by root (read-only for the process); only the data
# folder of the embedded database is writable.
COPY . .
RUN npm run build && mkdir -p /app/.driftwatch && chown node:node /app/.driftwatch

ENV NODE_ENV=production \
    DRIFTWATCH_DATA_DIR=/app/.driftwatch

USER node

# 3000: scheduler HTTP (ingest, approvals, Bull Board, /healthz); 8000: /metrics.
EXPOSE 3000 8000

# Workers finish or hand back their running jobs on SIGTERM.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "apps/cli/bin/driftwatch.js"]
CMD ["--help"]
