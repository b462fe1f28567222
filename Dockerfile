# syrf-anonymize container image: the binary, the shipped rule sets, a non-root user, nothing
# else. Every build step is in scripts/build-image-rootfs, which the test suite runs without
# docker; this file only calls it and copies its tree into an empty image.
#
#   docker build -t syrf-anonymize .
#   docker run --rm -i -e SYRF_ANONYMIZE_KEY syrf-anonymize \
#       --rules /usr/share/syrf-anonymize/rules/syrf.yaml < dump.archive > anonymized.archive
#
# For restore Jobs that need mongodump/mongorestore beside the binary, see Dockerfile.mongo.

ARG RUST_IMAGE=rust:1-slim-bookworm

FROM ${RUST_IMAGE} AS build
WORKDIR /src
COPY . .
RUN scripts/build-image-rootfs /rootfs

FROM scratch
COPY --from=build /rootfs/ /
USER 10001:10001
WORKDIR /scratch
ENTRYPOINT ["/usr/local/bin/syrf-anonymize"]
