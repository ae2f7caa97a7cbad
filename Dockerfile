# syntax=docker/dockerfile:1
# nppa mock in a container:
#   docker build -t nppa .
#   docker run --rm -p 8080:8080 nppa                  # the mock, for clients on the host: http://127.0.0.1:8080
#   docker run --rm -p 8080:8080 -e NPPA_ADMIN_TOKEN=$(openssl rand -hex 16) nppa   # … and the admin API, to that token
# Clients on the host arrive through Docker's bridge, not loopback, so the image adds the private ranges to every
# enterprise's IP whitelist (R-IP-1; NPPA_ALLOW_CLIENT_IPS). The admin API answers loopback peers only, that is
# nothing outside the container, unless NPPA_ADMIN_TOKEN is set: then requests that carry it are let in
# (`Authorization: Bearer …`, or `nppa admin` with the same variable). Other commands run too:
#   docker run --rm nppa size --players 1000000

# The toolchain: at least Cargo.toml's rust-version (.ci/check-dockerfile.py checks it).
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
# The registry and target directory are cached between builds (BuildKit), so a change to the sources rebuilds only
# this workspace's crates.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p nppa-harness && cp target/release/nppa /usr/local/bin/nppa

FROM debian:bookworm-slim
RUN useradd --system --home-dir /var/lib/nppa --create-home nppa
COPY --from=build /usr/local/bin/nppa /usr/local/bin/nppa
USER nppa
WORKDIR /var/lib/nppa
ENV NPPA_ALLOW_CLIENT_IPS=10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7
EXPOSE 8080
ENTRYPOINT ["nppa"]
CMD ["mock", "--listen", "0.0.0.0:8080"]
