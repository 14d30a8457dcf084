# petgate: `docker build -t petgate .`, or `docker compose up` (docker-compose.yml).

FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY workers ./workers
COPY bench ./bench
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
# redis-server: `petgate serve` with no Redis configured runs its own (the single-container mode).
# libcap2-bin only for setcap: file capabilities let the non-root user bind UDP 162 (and 623 for
# `petgate sim`). The kernel then refuses to run node in a container whose bounding set lacks
# NET_BIND_SERVICE, so `cap_drop: [ALL]` needs `cap_add: [NET_BIND_SERVICE]` with it.
RUN apt-get update \
  && apt-get install -y --no-install-recommends redis-server libcap2-bin \
  && setcap cap_net_bind_service=+ep "$(readlink -f /usr/local/bin/node)" \
  && apt-get purge -y --auto-remove libcap2-bin \
  && rm -rf /var/lib/apt/lists/*
# /app/.petgate is the default data dir (listener spool, embedded Redis): mount a volume there.
RUN useradd --system --uid 10162 --user-group --home-dir /app --no-create-home petgate \
  && mkdir -p /app/.petgate && chown petgate:petgate /app/.petgate
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY bin ./bin
# Numeric, so that runtimes checking "runAsNonRoot" can verify it.
USER 10162:10162
EXPOSE 162/udp 8162/tcp
ENTRYPOINT ["node", "bin/petgate.js"]
CMD ["serve"]
