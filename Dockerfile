# f1fetch: a small non-root image of the static binary, with the ready pipelines.
#
#   docker build -t f1fetch .
#   docker run --rm --read-only f1fetch --version
#   docker run --rm --read-only -e F1FETCH_BASE_URLS=http://host.docker.internal:8080 \
#     -e F1FETCH_ALLOW_INSECURE_HTTP=true f1fetch run /etc/f1fetch/pipelines/fastest_laps_to_stdout.yaml
#   (http:// to a host that is not loopback needs allow_insecure_http; a mirror on the host must
#   listen beyond 127.0.0.1, e.g. f1fetch mirror --addr 0.0.0.0:8080; README.md shows both in containers)
#
# Without a Docker engine (as on the project's CI), buildah builds it from a local builder image:
#   ../shared/tools/make-go-builder-image
#   buildah --storage-driver vfs bud --isolation chroot --build-arg BUILDER=localhost/gobuilder -t f1fetch .
ARG BUILDER=golang:1.26-bookworm

FROM ${BUILDER} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/f1fetch ./cmd/f1fetch

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/f1fetch /usr/local/bin/f1fetch
COPY --from=build /src/pipelines /etc/f1fetch/pipelines
COPY --from=build /src/data/mirror /usr/share/f1fetch/data/mirror
WORKDIR /
# A numeric non-root user: no /etc/passwd is needed, and runAsNonRoot checks pass.
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/f1fetch"]
CMD ["--help"]
