# syntax=docker/dockerfile:1
# legalpro-payments: one image for every role; MODE=api|worker|all picks what a container runs, and
# `node dist/src/cli/migrate.js` applies the migrations (see docker-compose.yml).

FROM node:20-slim AS build
WORKDIR /app
ENV npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json nest-cli.json ./
COPY src ./src
COPY migrations ./migrations
RUN npm run build \
 && npm prune --omit=dev \
 && npm cache clean --force

FROM node:20-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000
WORKDIR /app
COPY --from=build --chown=node:node /app/package.json ./package.json
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
COPY --chown=node:node certs ./certs
USER node
EXPOSE 3000
CMD ["node", "dist/src/main.js"]
