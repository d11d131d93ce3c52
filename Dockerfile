# Multi-stage build: compile on Debian 12 with the -dev packages, run on
# debian:12-slim with only the shared libraries, as a non-root user.
FROM debian:12 AS build
WORKDIR /src
COPY scripts/deps scripts/runtime-deps scripts/
RUN ./scripts/deps build
COPY . .
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release -DHAPANEL_SANITIZE=OFF -DHAPANEL_TESTS=OFF \
 && cmake --build /build -j"$(nproc)" --target hapanel \
 && strip /build/hapanel \
 && scripts/runtime-deps /build/hapanel > /build/runtime-packages

FROM debian:12-slim
# The shared libraries the binary was linked with, as the build stage found
# them (scripts/runtime-deps): a library added to the build cannot be
# forgotten here.
COPY --from=build /build/runtime-packages /tmp/runtime-packages
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      $(cat /tmp/runtime-packages) ca-certificates \
 && rm -rf /var/lib/apt/lists/* /tmp/runtime-packages \
 && useradd --system --uid 10001 --home-dir /var/lib/hapanel --shell /usr/sbin/nologin hapanel \
 && mkdir -p /var/lib/hapanel && chown hapanel:hapanel /var/lib/hapanel
COPY --from=build /build/hapanel /usr/local/bin/hapanel
COPY hapanel.sample.ini /etc/hapanel/hapanel.sample.ini
USER hapanel
ENV HAPANEL_LISTEN=0.0.0.0:8080 \
    HAPANEL_DATA_DIR=/var/lib/hapanel
VOLUME ["/var/lib/hapanel"]
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=5s --retries=3 \
  CMD ["/usr/local/bin/hapanel", "--healthcheck"]
ENTRYPOINT ["/usr/local/bin/hapanel"]
