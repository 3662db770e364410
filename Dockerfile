# One image for every role of the gateway: the command picks it (`server` runs API and worker in
# one process, `api` and `worker` one each; deploy/k8s runs them as two Deployments).
#   docker build -t batch-gateway:dev .
#   docker run batch-gateway:dev worker /config/gateway.yml
# gateway.yml reads everything deployment-specific from BGW_* environment variables.

# --- build: the fat jar, as `make build` makes it --------------------------------------------
FROM maven:3.9-eclipse-temurin-21 AS build
WORKDIR /src
COPY pom.xml ./
COPY workflows workflows
COPY activities activities
COPY temporal temporal
COPY service service
# The Maven repository stays in BuildKit's cache between builds.
RUN --mount=type=cache,target=/root/.m2 mvn -B -ntp -DskipTests package

# --- runtime: a JRE and the jar -----------------------------------------------------------------
FROM eclipse-temurin:21-jre
RUN groupadd --system --gid 10001 gateway \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent gateway
COPY --from=build /src/service/target/batch-gateway.jar /app/batch-gateway.jar
# The default configuration; Kubernetes mounts its ConfigMap over /config.
COPY service/config/gateway.yml /config/gateway.yml
# A numeric user, so that Kubernetes' runAsNonRoot can verify it.
USER 10001:10001
# API and admin (health checks, metrics) ports of gateway.yml's defaults.
EXPOSE 8000 8001
ENTRYPOINT ["java", "-XX:MaxRAMPercentage=75", "-XX:+ExitOnOutOfMemoryError", "-jar", "/app/batch-gateway.jar"]
CMD ["server", "/config/gateway.yml"]
