# vmcp: one static binary on a distroless base. Envoy runs in its own container
# (envoyproxy/envoy:v1.40.0, see docker-compose.yaml), so this image carries no Envoy.

FROM golang:1.26 AS build
WORKDIR /src
# Modules first, so a source change does not refetch them.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# CGO off: the SQLite store is pure Go (modernc.org/sqlite), so the binary needs no libc.
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/vmcp ./cmd/vmcp \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/vmcp /usr/local/bin/vmcp
# data_dir in the configuration is relative to the working directory: with the default ".vmcp"
# the store and keys land in /var/lib/vmcp/.vmcp, on the volume docker-compose.yaml mounts here.
# The directory belongs to the nonroot user so that a fresh named volume inherits that owner.
COPY --from=build --chown=nonroot:nonroot /out/data /var/lib/vmcp
WORKDIR /var/lib/vmcp
USER nonroot
ENTRYPOINT ["vmcp"]
CMD ["serve", "-c", "/etc/vmcp/vmcp.yaml"]
