# syntax=docker/dockerfile:1
# infoscreen-fleet: multi-stage build (Maven, JDK 17) -> JRE 17 runtime, non-root.
# Build and run commands are the README's set-up command (ComposeFileTest checks it).
FROM maven:3.9-eclipse-temurin-17 AS build
WORKDIR /src
COPY pom.xml .
COPY src src
COPY db db
COPY routes routes
RUN mvn -B -q -DskipTests package

FROM eclipse-temurin:17-jre
# curl for the health check; a system user without a login shell owns nothing but data/
RUN apt-get update \
 && apt-get install -y --no-install-recommends curl \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 fleet \
 && useradd --system --uid 10001 --gid fleet --home-dir /app --shell /usr/sbin/nologin fleet
WORKDIR /app
COPY --from=build /src/target/infoscreen-fleet.jar target/infoscreen-fleet.jar
# the YAML routes on disk (FLEET_ROUTES_DIR=routes), so an operator can mount changed ones
COPY routes routes
RUN mkdir -p data && chown fleet:fleet data
USER fleet
EXPOSE 8080
# heap: 256 MiB serves 100k clients below 400 MB RSS (docs/performance.md); a larger fleet or a
# container memory limit: override, e.g. JAVA_TOOL_OPTIONS="-XX:MaxRAMPercentage=60"
ENV JAVA_TOOL_OPTIONS="-Xmx256m"
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD curl -fsS -o /dev/null http://127.0.0.1:8080/observe/health/ready || exit 1
ENTRYPOINT ["java", "-jar", "target/infoscreen-fleet.jar"]
