# The weir binary in an image of its own: static, no shell, non-root.
#
#   docker build -t weir .
#   docker run --rm weir help
#
# deploy/kubernetes runs it as /weir with a read-only root file system and
# a writable /tmp.

FROM golang:1.26 AS build
WORKDIR /src
COPY . .
# Build tags for object stores with large SDKs: --build-arg TAGS=gcs,azblob
# adds native Google Cloud Storage and Azure Blob Storage (S3 is always in).
ARG TAGS=""
# No cgo: the binary needs no C library, so it runs on an empty image.
# go build fetches only the modules the binary needs (go mod download would
# fetch the whole module graph, test and build-tag dependencies included,
# several times as much); the cache mounts keep them between builds.
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -tags "$TAGS" -o /out/weir ./cmd/weir \
 && mkdir -m 1777 /out/tmp

FROM scratch
# Certificate authorities, for Kafka, Redis and object storage over TLS.
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/
COPY --from=build /out/tmp /tmp
COPY --from=build /out/weir /weir
USER 65532:65532
EXPOSE 7700 8080
ENTRYPOINT ["/weir"]
