# syntax=docker/dockerfile:1
#
# metalgit's image, for those with a container daemon or BuildKit:
#
#   docker build -t metalgit:dev .
#
# `make image` builds the same image without one (hack/image, see
# docs/image.md): the same files, modes, owners, user, entrypoint, working
# directory, environment and labels. hack/image's TestDockerfileMatchesBuilder
# fails when the two drift apart: change both together.

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# The flags of hack/image's go build. Go stamps the commit when the context
# holds the repository's .git directory (not a linked worktree's .git file).
RUN CGO_ENABLED=0 GOOS=linux GOFLAGS=-mod=readonly GOWORK=off \
    go build -trimpath -buildvcs=auto -ldflags='-s -w' -o /out/metalgit ./cmd/metalgit

# Debian's CA bundle and iPXE builds, the same packages hack/ci-deps.sh
# installs; cp -L follows Debian's ipxe.efi -> /boot/ipxe.efi link. /tmp is
# world-writable and sticky, the user's home is the user's.
FROM debian:bookworm-slim AS files
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates ipxe \
 && rm -rf /var/lib/apt/lists/*
RUN mkdir -p /rootfs/usr/lib/ipxe /rootfs/tmp /rootfs/home/metalgit \
 && cp -L /usr/lib/ipxe/undionly.kpxe /usr/lib/ipxe/snponly.efi /usr/lib/ipxe/ipxe.efi /rootfs/usr/lib/ipxe/ \
 && chmod 1777 /rootfs/tmp \
 && chmod 0755 /rootfs/home/metalgit

FROM scratch
COPY --chmod=0644 hack/image/rootfs/etc/passwd /etc/passwd
COPY --chmod=0644 hack/image/rootfs/etc/group /etc/group
COPY --from=files --chmod=0644 /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=files --chmod=0644 /rootfs/usr/lib/ipxe/undionly.kpxe /usr/lib/ipxe/undionly.kpxe
COPY --from=files --chmod=0644 /rootfs/usr/lib/ipxe/snponly.efi /usr/lib/ipxe/snponly.efi
COPY --from=files --chmod=0644 /rootfs/usr/lib/ipxe/ipxe.efi /usr/lib/ipxe/ipxe.efi
COPY --from=files /rootfs/tmp /tmp
COPY --from=files --chown=65532:65532 /rootfs/home/metalgit /home/metalgit
COPY --from=build --chmod=0755 /out/metalgit /usr/local/bin/metalgit
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
USER 65532:65532
WORKDIR /home/metalgit
ARG VERSION=(devel)
ARG REVISION=
LABEL org.opencontainers.image.title="metalgit" \
      org.opencontainers.image.description="GitOps for bare-metal fleets: Git inventory, Metal3 BareMetalHosts, PXE boot proxy" \
      org.opencontainers.image.source="https://github.com/metalgit/metalgit" \
      org.opencontainers.image.url="https://github.com/metalgit/metalgit" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
ENTRYPOINT ["/usr/local/bin/metalgit"]
