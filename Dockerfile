# sandboxd's image: built on Debian 12 from Debian's own packages (as tools/install-deps.sh
# installs them for development), run on debian:12-slim with only the shared libraries the
# binary loads.
#
#   docker build -t REGISTRY/sandboxd:0.1.0 .
#
# No image registry is reachable from CI, so the image is not built there. Instead
# tests/deploy/dockerfile_check.py checks this file against the binary CI builds: every shared
# library `ldd build/sandboxd` reports belongs (`dpkg -S`) to a package the runtime stage
# installs, and every package tools/install-deps.sh installs is either installed by the build
# stage or on that script's list of what only tests need.

# ---------------------------------------------------------------------------- build
FROM debian:12 AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential \
      cmake \
      ninja-build \
      pkg-config \
      libcpprest-dev \
      libssl-dev \
      nlohmann-json3-dev \
      libsqlitecpp-dev \
      libsqlite3-dev \
      libspdlog-dev \
      libfmt-dev \
      libyaml-cpp-dev \
      libcli11-dev \
      libsimdjson-dev \
      libjemalloc-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
COPY cmake/ cmake/
COPY config/ config/
COPY include/ include/
COPY migrations/ migrations/
COPY src/ src/
COPY yaml/ yaml/
COPY web/ web/
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DSANDBOXD_BUILD_TESTS=OFF -DSANDBOXD_BUILD_BENCH=OFF \
 && cmake --build build --target sandboxd \
 && strip --strip-debug -o /sandboxd build/sandboxd

# ---------------------------------------------------------------------------- runtime
FROM debian:12-slim AS runtime
# The libraries the binary loads (ldd: its own and theirs), and CA certificates for a
# kubeconfig without a CA of its own. Every one is listed, even those the base image already
# has (libc6, libgcc-s1, libstdc++6) or apt would pull in as a dependency (zlib1g, libbrotli1
# for libcpprest2.10): the check above then needs no assumptions about either.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates \
      libc6 \
      libgcc-s1 \
      libstdc++6 \
      libcpprest2.10 \
      libssl3 \
      libsqlite3-0 \
      libspdlog1.10 \
      libfmt9 \
      libyaml-cpp0.7 \
      libsimdjson14 \
      libjemalloc2 \
      libbrotli1 \
      zlib1g \
 && rm -rf /var/lib/apt/lists/*
# A fixed uid/gid (deploy/statefulset.yaml runs as 10001 and gives the volume that group).
RUN groupadd --system --gid 10001 sandboxd \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin sandboxd \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/sandboxd
COPY --from=build /sandboxd /usr/local/bin/sandboxd
# The manifest templates and schema migrations are compiled into the binary; these copies are
# for reading, and for `server.templatesDir` pointing at edited templates.
COPY yaml/ /usr/share/sandboxd/yaml/
COPY migrations/ /usr/share/sandboxd/migrations/
COPY config/sandboxd.example.yaml /usr/share/sandboxd/sandboxd.example.yaml
USER 10001:10001
WORKDIR /var/lib/sandboxd
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/sandboxd"]
CMD ["serve", "--kube", "in-cluster", "--listen", "0.0.0.0:8080"]
