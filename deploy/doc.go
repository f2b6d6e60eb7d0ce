// Package deploy holds the tests of what placard ships, beside the files
// they check: the release binaries and their sums (make release), the
// container image (make image, written by server/cmd/mkimage), the
// Dockerfile, the systemd unit (placard.service), the Kubernetes
// manifests (kubernetes/) and the commands of docs/deploy.md.
//
// Its tests read dist/, which make release and make image write: make
// test-deploy runs them all, apart from the other packages' tests. The
// Kubernetes API types and kustomize that the manifests' tests decode
// with are test dependencies: nothing of them is in placard's binary.
package deploy
