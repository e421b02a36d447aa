# The weir binary in an image of its own: static, no shell, non-root.
#
#   docker build -t weir .
#   docker run --rm weir help
#
# deploy/kubernetes runs it as /weir with a read-only root file system and
# a writable /tmp.

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# No cgo: the binary needs no C library, so it runs on an empty image.
RUN CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o /out/weir ./cmd/weir \
 && mkdir -m 1777 /out/tmp

FROM scratch
# Certificate authorities, for Kafka, Redis and object storage over TLS.
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/
COPY --from=build /out/tmp /tmp
COPY --from=build /out/weir /weir
USER 65532:65532
EXPOSE 7700 8080
ENTRYPOINT ["/weir"]
