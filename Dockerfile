# The release image: the static gcp-aws-cred binary and nothing else it does
# not need. distroless/static brings the CA certificates (TLS to STS),
# /etc/passwd with the nonroot user, and no shell or package manager.
#
# GoReleaser (dockers_v2 in .goreleaser.yaml) builds it with buildx from the
# binaries it has just built: the build context holds
# linux/amd64/gcp-aws-cred and linux/arm64/gcp-aws-cred, and TARGETPLATFORM
# picks one. It is not meant for a plain `docker build .` of the sources.
#
# Users take the binary into their own image with
#   COPY --from=ghcr.io/gcp-aws-cred/gcp-aws-cred:vX.Y.Z /usr/local/bin/gcp-aws-cred /usr/local/bin/gcp-aws-cred
FROM gcr.io/distroless/static-debian13:nonroot
ARG TARGETPLATFORM
COPY --chmod=0555 ${TARGETPLATFORM}/gcp-aws-cred /usr/local/bin/gcp-aws-cred
# 65532 is distroless's nonroot; numeric so that Kubernetes' runAsNonRoot can
# check it without reading /etc/passwd.
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/gcp-aws-cred"]
