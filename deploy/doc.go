// Package deploy holds the tests of what placard ships, beside the files
// they check: the release binaries and their sums (make release), the
// container image (make image, written by server/cmd/mkimage), the
// Dockerfile, the systemd unit (placard.service), the Kubernetes
// manifests (kubernetes/) and the commands of docs/deploy.md.
//
// It is a module of its own, so that the Kubernetes API types and
// kustomize, which the manifests' tests need, stay out of placard's
// module. Its tests read dist/, which make release writes; make
// test-deploy runs both.
package deploy
